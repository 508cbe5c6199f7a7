"""The storefront as the local stack serves it (infra/storefront.py): `build` runs npm only where
Node.js and npm are installed (its packages installed again only when the lock file is newer) and
otherwise says in one line how to get them; `publish` copies what is built for identity_svc and, with
a gateway, for nginx, each copy with the config.json of its origin, and leaves no stale page behind;
the storefront's OAuth client is registered with every origin it is served from."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from infra import storefront
from infra.stack import StackConfig
from infra.stack.processes import client_arguments, client_registration

pytestmark = pytest.mark.any_database

FAKE_NPM = """#!/bin/sh
echo "$@" >> "{calls}"
if [ "$1" = "ci" ]; then mkdir -p node_modules; fi
if [ "$1" = "run" ] && [ "$2" = "build" ]; then
    [ -n "$FAIL_BUILD" ] && exit 1
    out=dist; [ "$4" = "--outDir" ] && out="$5"
    mkdir -p "$out/assets" && echo "<!doctype html>" > "$out/index.html"
fi
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """The storefront's sources, as far as npm needs them."""
    folder = tmp_path / "storefront"
    folder.mkdir()
    (folder / "package.json").write_text("{}")
    (folder / "package-lock.json").write_text("{}")
    return folder


@pytest.fixture
def npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """node and npm stand-ins on an otherwise empty PATH; npm writes each of its calls to the file returned."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "npm-calls"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(FAKE_NPM.format(calls=calls))
    (bin_dir / "node").write_text("#!/bin/sh\n")
    for program in ("npm", "node"):
        (bin_dir / program).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return calls


def test_without_node_and_npm_the_storefront_is_not_built_and_one_line_says_how_to_get_them(
    source, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))

    with caplog.at_level(logging.INFO, logger="infra.storefront"):
        assert storefront.build(source) is None

    (line,) = caplog.messages
    assert line.startswith("the storefront is not built: Node.js and npm are not installed")
    assert "https://nodejs.org" in line
    assert "nodejs and npm packages" in line
    assert not (source / "dist").exists()


def test_the_packages_are_installed_once_then_only_when_the_lock_file_changes(source, npm, tmp_path):
    log_path = tmp_path / "logs" / "storefront-build.log"

    assert storefront.build(source, log_path=log_path) == source / "dist"
    assert (source / "dist" / "index.html").is_file()
    assert npm.read_text().splitlines() == ["ci --no-audit --no-fund", "run build"]

    assert storefront.build(source, log_path=log_path) == source / "dist"
    assert npm.read_text().splitlines()[2:] == ["run build"]  # node_modules is newer than the lock

    lock = source / "package-lock.json"
    newer = (source / "node_modules").stat().st_mtime + 10
    os.utime(lock, (newer, newer))
    storefront.build(source, log_path=log_path)
    assert npm.read_text().splitlines()[3:] == ["ci --no-audit --no-fund", "run build"]
    assert "=== " in log_path.read_text()  # npm's output goes to the log, not the terminal


def test_a_build_into_a_folder_of_its_own_leaves_dist_alone(source, npm, tmp_path):
    (source / "dist").mkdir()
    (source / "dist" / "index.html").write_text("<!doctype html><title>published</title>")
    into = tmp_path / "elsewhere"

    assert storefront.build(source, into=into) == into
    assert (into / "index.html").is_file()
    assert npm.read_text().splitlines()[-1] == f"run build -- --outDir {into}"
    assert (source / "dist" / "index.html").read_text() == "<!doctype html><title>published</title>"


def test_a_failed_build_is_one_line_naming_the_log(source, npm, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FAIL_BUILD", "1")
    log_path = tmp_path / "storefront-build.log"

    with caplog.at_level(logging.WARNING, logger="infra.storefront"):
        assert storefront.build(source, log_path=log_path) is None

    assert caplog.messages == [
        f"the storefront is not built: `run build` failed; npm's output is in {log_path}"
    ]


def test_a_folder_without_package_json_is_not_built(tmp_path, npm, caplog):
    with caplog.at_level(logging.WARNING, logger="infra.storefront"):
        assert storefront.build(tmp_path / "missing") is None

    assert "has no package.json" in caplog.text
    assert not npm.exists()


def built(folder: Path) -> Path:
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html>")
    (folder / "config.json").write_text('{"identity": "", "client_id": "storefront"}')
    (folder / "assets" / "index-B9xQ3f2a.js").write_text("")
    return folder


def config_of(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def test_identity_svc_s_copy_calls_each_service_at_its_own_address(tmp_path):
    config = StackConfig(var_dir=tmp_path / "var", storefront_dist=built(tmp_path / "dist"))

    (folder,) = storefront.publish(config)

    assert folder == tmp_path / "var" / "storefront" / "identity"
    assert (folder / "assets" / "index-B9xQ3f2a.js").is_file()
    assert config_of(folder) == {
        "identity": "http://127.0.0.1:8005",
        "orders": "http://127.0.0.1:8001",
        "inventory": "http://127.0.0.1:8003",
        "payments": "http://127.0.0.1:8002",
        "notifications": "http://127.0.0.1:8004",
        "faults": {
            "order_svc": "http://127.0.0.1:8001/api/v1/faults",
            "inventory_svc": "http://127.0.0.1:8003/api/v1/faults",
            "payment_svc": "http://127.0.0.1:8002/api/v1/faults",
        },
        "client_id": "storefront",
        "temporal_ui": "http://127.0.0.1:8233",
        "namespace": "default",
    }
    assert storefront.address(config) == "http://127.0.0.1:8005/"
    assert config_of(tmp_path / "dist")["identity"] == ""  # the build itself is left as it was


def test_with_a_gateway_a_second_copy_calls_the_gateway_s_own_origin(tmp_path):
    config = StackConfig(
        var_dir=tmp_path / "var", storefront_dist=built(tmp_path / "dist"), gateway_port=8000
    )

    identity, gateway = storefront.publish(config)

    assert config_of(identity)["orders"] == "http://127.0.0.1:8001"
    assert config_of(gateway) | {"faults": None} == {
        "identity": "",
        "orders": "",
        "inventory": "",
        "payments": "",
        "notifications": "",
        "faults": None,
        "client_id": "storefront",
        "temporal_ui": "http://127.0.0.1:8233",
        "namespace": "default",
    }
    assert config_of(gateway)["faults"] == {
        "order_svc": "/api/v1/faults/orders",
        "inventory_svc": "/api/v1/faults/inventory",
        "payment_svc": "/api/v1/faults/payments",
    }
    assert storefront.address(config) == "http://127.0.0.1:8000/"


def test_a_storefront_no_longer_built_leaves_no_stale_page_behind(tmp_path):
    config = StackConfig(
        var_dir=tmp_path / "var", storefront_dist=built(tmp_path / "dist"), gateway_port=8000
    )
    storefront.publish(config)
    (tmp_path / "dist" / "index.html").unlink()

    assert storefront.publish(config) == []

    for copy in (storefront.IDENTITY_COPY, storefront.GATEWAY_COPY):
        folder = storefront.published_folder(config, copy)
        assert folder.is_dir()  # there to be served, and empty
        assert list(folder.iterdir()) == []
    assert storefront.address(config) is None


def registration_of_the_storefront(config: StackConfig) -> list[str]:
    argv = client_registration(config).argv
    registered = [
        json.loads(text) for text in argv[argv.index("ensure_clients") + 1 : argv.index("--skip-checks")]
    ]
    assert registered == client_arguments(config)
    (storefront_client,) = [arguments for arguments in registered if arguments[0] == "storefront"]
    return storefront_client


def test_the_storefronts_client_is_registered_with_every_origin_it_is_served_from(tmp_path):
    alone = StackConfig(var_dir=tmp_path / "var")
    assert registration_of_the_storefront(alone) == [
        "storefront",
        "--browser",
        "--redirect-uri",
        "http://127.0.0.1:8005/",
        "--development",
    ]
    gateway = StackConfig(
        var_dir=tmp_path / "var",
        gateway_port=8000,
        tuning={"GATEWAY_TLS_CERT": "/tls/gateway.pem", "GATEWAY_TLS_KEY": "/tls/gateway.key"},
    )
    assert registration_of_the_storefront(gateway)[3:-1] == [
        "http://127.0.0.1:8005/",
        "--redirect-uri",
        "http://127.0.0.1:8000/",
        "--redirect-uri",
        "https://127.0.0.1:8443/",
    ]


def test_a_production_stack_registers_no_development_client(tmp_path):
    config = StackConfig(var_dir=tmp_path / "var", django_env="production")

    assert [arguments[0] for arguments in client_arguments(config)] == ["saga-orchestrator", "saga-auditor"]
