# One image for every process of the system: the five services (gunicorn), the worker, the relay, the
# event publishers, the notifier, payment_svc's consumer and the one-shot steps. The role is the
# command: see infra/deploy/container/entrypoint.sh.
#   docker build -t saga-orders .
#   docker run saga-orders order_svc | worker | relay | publisher order_svc | notifier | migrate order_svc

# Build: a virtual environment with the runtime dependencies (pinned by requirements-runtime.lock).
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements-runtime.lock /tmp/requirements-runtime.lock
RUN /opt/venv/bin/pip install --requirement /tmp/requirements-runtime.lock

# Run: the environment and the code, nothing else (no compilers, no tests, no keys).
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    DJANGO_ENV=production \
    SAGA_VAR_DIR=/tmp/saga \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    WORKER_METRICS_ADDRESS=0.0.0.0:9464 \
    PORT=8000
RUN groupadd --system --gid 10001 saga \
    && useradd --system --uid 10001 --gid saga --home-dir /app --shell /usr/sbin/nologin saga
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root saga_contract/ saga_contract/
COPY --chown=root:root chassis/ chassis/
COPY --chown=root:root observability/ observability/
COPY --chown=root:root orchestrator/ orchestrator/
# The worker's scheduled audit runs the auditor's code (infra/audit and its REST client), nothing else of infra/.
COPY --chown=root:root infra/__init__.py infra/rest.py infra/
COPY --chown=root:root infra/audit/ infra/audit/
COPY --chown=root:root inventory_svc/ inventory_svc/
COPY --chown=root:root payment_svc/ payment_svc/
COPY --chown=root:root order_svc/ order_svc/
COPY --chown=root:root notification_svc/ notification_svc/
COPY --chown=root:root identity_svc/ identity_svc/
COPY --chown=root:root infra/deploy/container/entrypoint.sh /usr/local/bin/saga-entrypoint
# Bytecode now, while the tree is writable: the processes run with PYTHONDONTWRITEBYTECODE on a
# read-only tree, and the worker's sandbox imports the workflow module again for every workflow run.
RUN python -m compileall -q /app
USER 10001:10001
EXPOSE 8000 9464
ENTRYPOINT ["/usr/local/bin/saga-entrypoint"]
CMD ["order_svc"]
