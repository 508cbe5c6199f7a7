#!/bin/sh
# The container's command: which process of the system this container is.
#   identity_svc | inventory_svc | payment_svc | order_svc | notification_svc
#                                             the service under gunicorn on $PORT (default 8000)
#   worker                                    the orchestrator worker (metrics on $WORKER_METRICS_ADDRESS)
#   relay                                     order_svc's outbox relay
#   publisher SERVICE                         SERVICE's event publisher (identity_svc, inventory_svc,
#                                             payment_svc, order_svc)
#   notifier                                  notification_svc's event consumer and mail sender
#   consumer payment_svc                      payment_svc's event consumer (opens registered customers' accounts)
#   migrate SERVICE                           apply SERVICE's migrations, then exit
#   declare-broker                            declare the broker's exchanges and queues, then exit
#   search-attributes                         register the saga's search attributes on Temporal, then exit
#   ensure-client CLIENT_ID OPTION...         register or update an OAuth client at identity_svc, then exit
#                                             (`manage.py ensure_client`; a secret comes from --secret-env)
#   create-operator EMAIL                     create an operator at identity_svc, the password read from
#                                             standard input, then exit
#   rotate-signing-key                        turn identity_svc's signing key over, then exit
#   clear-tokens                              delete identity_svc's expired tokens and grants, then exit
# Settings come from the environment (docs/deploy.md); production refuses development defaults.
#
# A publisher, the notifier and the consumer write their metrics to $PROMETHEUS_MULTIPROC_DIR, where
# their service's gunicorn sums them into its /metrics (a restarted gunicorn clears only the files of
# processes that are gone), so they run beside the service, sharing the folder and the service's
# process ids, and wait until gunicorn has made the folder. Set PROMETHEUS_MULTIPROC_DIR to an empty
# value to run one without its service (its metrics are then not exported).
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
    identity_svc | inventory_svc | payment_svc | order_svc | notification_svc)
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
            identity_svc | inventory_svc | payment_svc | order_svc) ;;
            *) echo "usage: publisher identity_svc|inventory_svc|payment_svc|order_svc" >&2; exit 2 ;;
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
    consumer)
        service="${2:-}"
        case "$service" in
            payment_svc) ;;
            *) echo "usage: consumer payment_svc" >&2; exit 2 ;;
        esac
        await_metrics_folder
        cd "/app/$service"
        exec python manage.py consume_events
        ;;
    migrate)
        service="${2:-}"
        case "$service" in
            identity_svc | inventory_svc | payment_svc | order_svc | notification_svc) ;;
            *) echo "usage: migrate identity_svc|inventory_svc|payment_svc|order_svc|notification_svc" >&2; exit 2 ;;
        esac
        cd "/app/$service"
        exec python manage.py migrate --noinput
        ;;
    declare-broker)
        # Any service's settings would do; the stack and the deployments run it with notification_svc's.
        cd /app/notification_svc
        exec python manage.py declare_broker
        ;;
    search-attributes)
        exec python -m orchestrator.search_attributes
        ;;
    ensure-client)
        if [ $# -lt 3 ]; then
            echo "usage: ensure-client CLIENT_ID --service|--browser OPTION..." >&2
            exit 2
        fi
        shift
        cd /app/identity_svc
        exec python manage.py ensure_client "$@"
        ;;
    create-operator)
        if [ $# -ne 2 ]; then
            echo "usage: create-operator EMAIL (the password on standard input)" >&2
            exit 2
        fi
        cd /app/identity_svc
        exec python manage.py create_operator "$2"
        ;;
    rotate-signing-key)
        cd /app/identity_svc
        exec python manage.py rotate_signing_key
        ;;
    clear-tokens)
        cd /app/identity_svc
        exec python manage.py cleartokens
        ;;
    *)
        echo "usage: identity_svc | inventory_svc | payment_svc | order_svc | notification_svc | worker" \
            "| relay | publisher SERVICE | notifier | consumer payment_svc | migrate SERVICE" \
            "| declare-broker | search-attributes | ensure-client CLIENT_ID OPTION..." \
            "| create-operator EMAIL | rotate-signing-key | clear-tokens" >&2
        exit 2
        ;;
esac
