"""Settings of one framework floor process: FLOOR_SERVICE names the service (inventory, payment or
order) whose app, models and services it serves.

The service's folder goes on sys.path, as its manage.py does. The database is the product's own
setting (chassis.settings: SQLite in WAL with IMMEDIATE transactions, or DATABASE_URL); everything
else is Django's and DRF's defaults, without what the product adds.
"""

import os
import sys
from pathlib import Path

from chassis.settings import REPO_ROOT, service_settings
from saga_contract import DEFAULT_DEADLINE_SECONDS

SERVICE_APPS = {"inventory": "inventory", "payment": "payments", "order": "orders"}
FLOOR_SERVICE = os.environ.get("FLOOR_SERVICE", "")
if FLOOR_SERVICE not in SERVICE_APPS:
    raise RuntimeError(f"FLOOR_SERVICE must be one of {', '.join(SERVICE_APPS)}, not {FLOOR_SERVICE!r}")
sys.path.insert(0, str(REPO_ROOT / f"{FLOOR_SERVICE}_svc"))

BASE_DIR = Path(__file__).resolve().parent
_PRODUCT = service_settings(name=FLOOR_SERVICE, base_dir=BASE_DIR, apps=[SERVICE_APPS[FLOOR_SERVICE]])
DATABASES = _PRODUCT["DATABASES"]
SECRET_KEY = "framework-floor-of-the-bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
# The events outbox too: the product's commands record their integration events in their own
# transactions, and the floor runs the same statements.
INSTALLED_APPS = ["rest_framework", "chassis.idempotency", "chassis.events", SERVICE_APPS[FLOOR_SERVICE]]
STOCK_LOW_THRESHOLD = 5  # inventory_svc's default
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "infra.bench.framework_floor.urls"
WSGI_APPLICATION = "infra.bench.framework_floor.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
APPEND_SLASH = False
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
# order_place reads the saga's deadline into the outbox record it stores.
ORDER_SAGA_DEADLINE_SECONDS = int(
    os.environ.get("ORDER_SAGA_DEADLINE_SECONDS", str(DEFAULT_DEADLINE_SECONDS))
)
