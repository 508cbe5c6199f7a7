"""The gateway in front of the local stack (`sagactl up --gateway`, the gateway tests): the
project's nginx configuration from infra/deploy/gateway, filled in for this stack's ports and its copy
of the storefront, served by the machine's nginx (Debian's package, for one) as an ordinary process
of the stack."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from infra import storefront
from infra.stack.config import HOST, REPO_ROOT, ConfigError, StackConfig
from infra.stack.process import ManagedProcess
from infra.stack.processes import answers_200

GATEWAY_FILES = REPO_ROOT / "infra" / "deploy" / "gateway"
DEFAULT_RATE, DEFAULT_BURST = "20r/s", "40"
_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def nginx_binary() -> str | None:
    """nginx on PATH, or where Debian puts it (/usr/sbin, not on every user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def render(template: Path, values: dict[str, str]) -> str:
    """A template with its ${...} placeholders filled in, as envsubst would; nginx's own $variables stay."""
    text = template.read_text()
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise ValueError(f"{template.name} needs {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: values[match[1]], text)


def write_configuration(config: StackConfig, directory: Path) -> Path:
    """nginx.conf for this stack in `directory` (the gateway, and TLS when GATEWAY_TLS_CERT and
    GATEWAY_TLS_KEY are set), with the temporary folders nginx needs; its path. GATEWAY_* settings
    come from the stack's tuning."""
    tuning = config.tuning
    values = {
        "ORDER_SVC": config.service_url("order_svc").removeprefix("http://"),
        "INVENTORY_SVC": config.service_url("inventory_svc").removeprefix("http://"),
        "PAYMENT_SVC": config.service_url("payment_svc").removeprefix("http://"),
        "NOTIFICATION_SVC": config.service_url("notification_svc").removeprefix("http://"),
        "IDENTITY_SVC": config.service_url("identity_svc").removeprefix("http://"),
        "GATEWAY_LISTEN": f"{HOST}:{config.gateway_port}",
        "GATEWAY_RATE": tuning.get("GATEWAY_RATE", DEFAULT_RATE),
        "GATEWAY_BURST": tuning.get("GATEWAY_BURST", DEFAULT_BURST),
        "GATEWAY_CONF_DIR": str(GATEWAY_FILES),
        # The storefront's copy for the gateway (infra/storefront.py publishes it when it is built).
        "STOREFRONT_DIR": str(storefront.published_folder(config, storefront.GATEWAY_COPY)),
    }
    servers = [render(GATEWAY_FILES / "gateway.conf.template", values)]
    if tuning.get("GATEWAY_TLS_CERT") and tuning.get("GATEWAY_TLS_KEY"):
        servers.append(
            render(
                GATEWAY_FILES / "tls.conf.template",
                values
                | {
                    "GATEWAY_TLS_LISTEN": f"{HOST}:{tuning.get('GATEWAY_TLS_PORT', '8443')}",
                    "GATEWAY_TLS_CERT": tuning["GATEWAY_TLS_CERT"],
                    "GATEWAY_TLS_KEY": tuning["GATEWAY_TLS_KEY"],
                },
            )
        )
    for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / "tmp" / folder).mkdir(parents=True, exist_ok=True)
    (directory / "gateway.conf").write_text("\n".join(servers))
    main = directory / "nginx.conf"
    main.write_text(
        "# Written by sagactl for this stack: nginx in the foreground, its files under this folder.\n"
        "daemon off;\nworker_processes 1;\npid nginx.pid;\nerror_log stderr warn;\n"
        # nginx started by root runs its workers as `nobody`, who may not be allowed into the stack's
        # folders to read the storefront's files, so they run as root, the user who runs the stack.
        + ("user root;\n" if os.geteuid() == 0 else "")
        + "events { worker_connections 512; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        "    server_tokens off;\n"
        + "".join(
            f"    {kind}_temp_path tmp/{folder};\n"
            for kind, folder in (
                ("client_body", "client_body"),
                ("proxy", "proxy"),
                ("fastcgi", "fastcgi"),
                ("uwsgi", "uwsgi"),
                ("scgi", "scgi"),
            )
        )
        + f"    include {directory / 'gateway.conf'};\n"
        "}\n"
    )
    return main


def gateway_server(config: StackConfig) -> ManagedProcess:
    """nginx on config.gateway_port, its files under <var>/gateway; ready once it answers.
    ConfigError when nginx is not installed."""
    binary = nginx_binary()
    if binary is None:
        raise ConfigError("nginx is not installed (Debian: apt-get install nginx)")
    directory = config.var_dir / "gateway"
    directory.mkdir(parents=True, exist_ok=True)
    configuration = write_configuration(config, directory)
    return ManagedProcess(
        "gateway",
        [binary, "-p", f"{directory}/", "-c", str(configuration), "-e", "stderr"],
        cwd=directory,
        env=dict(os.environ),
        log_path=config.log_dir / "gateway.log",
        ready=lambda: answers_200(f"http://{HOST}:{config.gateway_port}/gateway/healthz"),
    )
