"""Prometheus beside the local stack (`sagactl up --prometheus`, the observability tests): the
project's scrape configuration and alerting rules from infra/deploy/prometheus, with target files
written for this stack's ports, served by the machine's `prometheus` (Debian's package, for one)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from infra.stack.config import ALL_SERVICES, HOST, REPO_ROOT, ConfigError, StackConfig
from infra.stack.process import ManagedProcess
from infra.stack.processes import answers_200

PROMETHEUS_FILES = REPO_ROOT / "infra" / "deploy" / "prometheus"


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def write_scrape_files(config: StackConfig, directory: Path) -> Path:
    """The project's prometheus.yml and rules.yml in `directory`, with targets/*.json naming this
    stack's Django services, notification_svc included (label `service`), and its worker (label
    `process`); the configuration's path."""
    targets = directory / "targets"
    targets.mkdir(parents=True, exist_ok=True)
    for name in ("prometheus.yml", "rules.yml"):
        shutil.copyfile(PROMETHEUS_FILES / name, directory / name)
    services = [
        {"targets": [config.service_url(service).removeprefix("http://")], "labels": {"service": service}}
        for service in ALL_SERVICES
    ]
    # Not `service`: the worker's own metrics carry a `service` label (the breaker's downstream service).
    worker = [{"targets": [f"{HOST}:{config.worker_metrics_port}"], "labels": {"process": "worker"}}]
    (targets / "services.json").write_text(json.dumps(services, indent=2))
    (targets / "worker.json").write_text(json.dumps(worker, indent=2))
    return directory / "prometheus.yml"


def prometheus_server(config: StackConfig) -> ManagedProcess:
    """Prometheus on config.prometheus_port, its data under <var>/prometheus; ready once it says so.
    ConfigError when Prometheus is not installed."""
    binary = prometheus_binary()
    if binary is None:
        raise ConfigError("prometheus is not installed (Debian: apt-get install prometheus)")
    directory = config.var_dir / "prometheus"
    configuration = write_scrape_files(config, directory)
    address = f"{HOST}:{config.prometheus_port}"
    return ManagedProcess(
        "prometheus",
        [
            binary,
            f"--config.file={configuration}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address={address}",
            "--storage.tsdb.retention.time=2d",
            "--log.level=warn",
        ],
        cwd=directory,
        env=dict(os.environ),
        log_path=config.log_dir / "prometheus.log",
        ready=lambda: answers_200(f"http://{address}/-/ready"),
    )
