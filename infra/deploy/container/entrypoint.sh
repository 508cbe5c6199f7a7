#!/bin/sh
# The container's command: which process of the system this container is.
#   inventory_svc | payment_svc | order_svc   the service under gunicorn on $PORT (default 8000)
#   worker                                    the orchestrator worker (metrics on $WORKER_METRICS_ADDRESS)
#   relay                                     order_svc's outbox relay
#   migrate SERVICE                           apply SERVICE's migrations, then exit
#   search-attributes                         register the saga's search attributes on Temporal, then exit
# Settings come from the environment (docs/deploy.md); production refuses development defaults.
set -eu

role="${1:-}"
case "$role" in
    inventory_svc | payment_svc | order_svc)
        cd "/app/$role"
        exec gunicorn config.wsgi:application \
            --config python:chassis.gunicorn_conf \
            --bind "0.0.0.0:${PORT:-8000}" \
            --workers "${WEB_WORKERS:-2}" \
            --threads "${WEB_THREADS:-4}" \
            --graceful-timeout 20
        ;;
    worker)
        exec python -m orchestrator.worker
        ;;
    relay)
        cd /app/order_svc
        exec python manage.py relay_outbox
        ;;
    migrate)
        service="${2:-}"
        case "$service" in
            inventory_svc | payment_svc | order_svc) ;;
            *) echo "usage: migrate inventory_svc|payment_svc|order_svc" >&2; exit 2 ;;
        esac
        cd "/app/$service"
        exec python manage.py migrate --noinput
        ;;
    search-attributes)
        exec python -m orchestrator.search_attributes
        ;;
    *)
        echo "usage: inventory_svc | payment_svc | order_svc | worker | relay | migrate SERVICE | search-attributes" >&2
        exit 2
        ;;
esac
