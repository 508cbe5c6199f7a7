"""WSGI entry point of order_svc (served by gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

from chassis.telemetry import traced

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# What gunicorn serves fails closed: without DJANGO_ENV it is production, whose settings refuse to
# start on development defaults. `sagactl up` and manage.py say development themselves.
os.environ.setdefault("DJANGO_ENV", "production")
# gunicorn imports this module in each worker, after the fork: the span exporter starts in the process
# it serves.
application = traced(get_wsgi_application())
