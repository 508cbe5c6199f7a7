"""WSGI entry point of a framework floor process (served by gunicorn like the product's services)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infra.bench.framework_floor.settings")
application = get_wsgi_application()
