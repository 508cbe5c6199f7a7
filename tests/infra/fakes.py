"""Stand-ins for the stack-runner tests: small Python child processes, and a fake repository root
with Django-project stand-ins that gunicorn serves and a Temporal worker stand-in, all quick to start
and each reporting the environment it was given.
"""

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from textwrap import dedent

from infra.stack import ManagedProcess

REPORTED_VARIABLES = (
    "DJANGO_SETTINGS_MODULE",
    "SAGA_VAR_DIR",
    "DATABASE_URL",
    "SAGA_CHAOS",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_TASK_QUEUE",
    "ORDER_SVC_URL",
    "PAYMENT_SVC_URL",
    "INVENTORY_SVC_URL",
    "EVENTS_BROKER_URL",
    "JWT_ISSUER",
    "JWT_JWKS_URL",
    "SAGA_TOKEN_URL",
    "SAGA_CORS_ORIGINS",
    "IDENTITY_STOREFRONT_DIR",
)

FAKE_MANAGE = """
    import json, os, sys, time
    from pathlib import Path

    if sys.argv[1:] == ["migrate", "--noinput"]:  # the one command that runs Django's system checks
        Path(os.environ["SAGA_VAR_DIR"], Path.cwd().name + ".migrated").write_text("ok")
        print("Applying fake.0001_initial... OK")
        sys.exit(0)
    assert sys.argv[-1] == "--skip-checks", sys.argv  # which migrate ran at this start
    command = sys.argv[1:-1]
    if command in (["relay_outbox"], ["publish_events"], ["notify"], ["consume_events"]):  # daemons
        Path(os.environ["SAGA_VAR_DIR"], Path.cwd().name + "." + command[0]).write_text("running")
        while True:
            time.sleep(1)
    if command == ["declare_broker"]:
        sys.exit(0)
    assert command[0] == "ensure_clients", sys.argv  # identity_svc's registration of its clients
    for client in map(json.loads, command[1:]):
        if "--service" in client:  # and the secret its variable holds
            assert os.environ[client[client.index("--secret-env") + 1]], sys.argv
        Path(os.environ["SAGA_VAR_DIR"], "client." + client[0]).write_text(" ".join(client[1:]))
"""

FAILING_MANAGE = """
    import sys

    print("django.db.utils.OperationalError: unable to open database file")
    sys.exit(1)
"""

FAKE_WSGI = """
    import json, os
    from pathlib import Path

    REPORTED = {reported!r}

    def application(environ, start_response):
        var_dir = Path(os.environ["SAGA_VAR_DIR"])
        if environ["PATH_INFO"] == "/readyz":  # ready only once migrated: proves the order of steps
            ok = (var_dir / (Path.cwd().name + ".migrated")).exists()
            status, body = ("200 OK" if ok else "503 Service Unavailable"), {{"ready": ok}}
        elif environ["PATH_INFO"] == "/env":
            status = "200 OK"
            reported = {{name: os.environ.get(name) for name in REPORTED}}
            body = {{"cwd": os.getcwd(), "master_pid": os.getppid(), "env": reported}}
        else:
            status, body = "404 Not Found", {{}}
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
"""

# Put before FAKE_WSGI: the application fails to load on the first `failing` boots of a gunicorn
# master (a worker that fails to boot ends its master; its two workers count once), and on any boot
# while <var>/<service>.broken exists.
FAILING_BOOT = """
    import os
    from pathlib import Path

    from django.core.exceptions import ImproperlyConfigured

    boots = Path(os.environ["SAGA_VAR_DIR"], Path.cwd().name + ".boots")
    masters = set(boots.read_text().split()) if boots.exists() else set()
    masters.add(str(os.getppid()))
    boots.write_text(" ".join(sorted(masters)))
    if len(masters) <= {failing} or Path(os.environ["SAGA_VAR_DIR"], Path.cwd().name + ".broken").exists():
        raise ImproperlyConfigured("SAGA_CORS_ORIGINS takes exact origins only: 'http://*.example'")
"""

FAKE_WORKER = """
    import asyncio, json, os
    from pathlib import Path

    from temporalio import activity
    from temporalio.client import Client
    from temporalio.common import WorkerDeploymentVersion
    from temporalio.worker import Worker, WorkerDeploymentConfig

    REPORTED = {reported!r}

    @activity.defn
    async def ping() -> str:
        return "pong"

    async def main() -> None:
        registered = sorted(path.name for path in Path(os.environ["SAGA_VAR_DIR"]).glob("client.*"))
        reported = {{n: os.environ.get(n) for n in REPORTED}} | {{"clients at start": registered}}
        Path("worker-env.json").write_text(json.dumps(reported))
        address, namespace = os.environ["TEMPORAL_ADDRESS"], os.environ["TEMPORAL_NAMESPACE"]
        client = await Client.connect(address, namespace=namespace)
        version = WorkerDeploymentVersion("order-saga", os.environ.get("SAGA_BUILD_ID") or "fake-1")
        await Worker(
            client,
            task_queue=os.environ["TEMPORAL_TASK_QUEUE"],
            activities=[ping],
            deployment_config=WorkerDeploymentConfig(version=version, use_worker_versioning=True),
        ).run()

    if __name__ == "__main__":
        asyncio.run(main())
"""


def _write(path: Path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(source).lstrip())


def write_fake_root(
    root: Path, *, failing_migration: str | None = None, failing_boots: Mapping[str, int] | None = None
) -> Path:
    """A repository root with fake services and worker; `failing_migration` names a service whose
    migrate step fails, `failing_boots` the services whose application raises ImproperlyConfigured
    on their first so many starts (and on any start while <var>/<service>.broken exists)."""
    failing_boots = failing_boots or {}
    for service in ("identity_svc", "order_svc", "payment_svc", "inventory_svc", "notification_svc"):
        _write(root / service / "manage.py", FAILING_MANAGE if service == failing_migration else FAKE_MANAGE)
        _write(root / service / "config" / "__init__.py", "")
        wsgi = FAKE_WSGI.format(reported=REPORTED_VARIABLES)
        if service in failing_boots:
            wsgi = FAILING_BOOT.format(failing=failing_boots[service]) + wsgi
        _write(root / service / "config" / "wsgi.py", wsgi)
    _write(root / "orchestrator" / "__init__.py", "")
    _write(root / "orchestrator" / "worker.py", FAKE_WORKER.format(reported=REPORTED_VARIABLES))
    return root


def stand_in(directory: Path, code: str, *, name: str = "probe", **options: object) -> ManagedProcess:
    """A ManagedProcess running the Python `code`, logging to <directory>/logs/<name>.log."""
    return ManagedProcess(
        name,
        [sys.executable, "-c", code],
        cwd=directory,
        env=os.environ,
        log_path=directory / "logs" / f"{name}.log",
        **options,
    )
