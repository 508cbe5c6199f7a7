#!/bin/sh
# The container's command: which process of the system this container is.
#   inventory_svc | payment_svc | order_svc | notification_svc
#                                             the service under gunicorn on $PORT (default 8000)
#   worker                                    the orchestrator worker (metrics on $WORKER_METRICS_ADDRESS)
#   relay                                     order_svc's outbox relay
#   publisher SERVICE                         SERVICE's event publisher (inventory_svc, payment_svc, order_svc)
#   notifier                                  notification_svc's event consumer and mail sender
#   migrate SERVICE                           apply SERVICE's migrations, then exit
#   declare-broker                            declare the broker's exchanges and queues, then exit
#   search-attributes                         register the saga's search attributes on Temporal, then exit
# Settings come from the environment (docs/deploy.md); production refuses development defaults.
#
# A publisher and the notifier write their metrics to $PROMETHEUS_MULTIPROC_DIR, where their service's
# gunicorn sums them into its /metrics (a restarted gunicorn clears only the files of processes that
# are gone), so they run beside the service, sharing the folder, and wait until gunicorn has made it. Set PROMETHEUS_MULTIPROC_DIR
# to an empty value to run one without its service (its metrics are then not exported).
set -eu

await_metrics_folder() {
    folder="${PROMETHEUS_MULTIPROC_DIR:-}"
    if [ -n "$folder" ] && [ ! -d "$folder" ]; then
        echo "waiting for $folder, which the service's gunicorn makes when it starts" >&2
        while [ ! -d "$folder" ]; do sleep 1; done
    fi
}

role="${1:-}"
case "$role" in
    inventory_svc | payment_svc | order_svc | notification_svc)
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
    publisher)
        service="${2:-}"
        case "$service" in
            inventory_svc | payment_svc | order_svc) ;;
            *) echo "usage: publisher inventory_svc|payment_svc|order_svc" >&2; exit 2 ;;
        esac
        await_metrics_folder
        cd "/app/$service"
        exec python manage.py publish_events
        ;;
    notifier)
        await_metrics_folder
        cd /app/notification_svc
        exec python manage.py notify
        ;;
    migrate)
        service="${2:-}"
        case "$service" in
            inventory_svc | payment_svc | order_svc | notification_svc) ;;
            *) echo "usage: migrate inventory_svc|payment_svc|order_svc|notification_svc" >&2; exit 2 ;;
        esac
        cd "/app/$service"
        exec python manage.py migrate --noinput
        ;;
    declare-broker)
        # Any service's settings would do; the queues declared are notification_svc's.
        cd /app/notification_svc
        exec python manage.py declare_broker
        ;;
    search-attributes)
        exec python -m orchestrator.search_attributes
        ;;
    *)
        echo "usage: inventory_svc | payment_svc | order_svc | notification_svc | worker | relay" \
            "| publisher SERVICE | notifier | migrate SERVICE | declare-broker | search-attributes" >&2
        exit 2
        ;;
esac
