"""The Temporal dev server as the stack starts it, alone on free ports: it answers, keeps its state in
the var dir, runs without the dev server's default poll limits, and once stopped leaves its port free
and no process of its group behind.
"""

import json
import subprocess
from pathlib import Path

import pytest

from infra.stack import BIN_DIR, DEV_SERVER_DYNAMIC_CONFIG, group_alive, port_is_free, temporal_server

pytestmark = pytest.mark.any_database


def test_temporal_dev_server_starts_answers_and_stops_without_leftovers(fake_config, marker):
    server = temporal_server(fake_config)
    server.start()
    try:
        server.wait_ready(30)
        health = subprocess.run(
            [
                str(BIN_DIR / "temporal"),
                "operator",
                "cluster",
                "health",
                "--address",
                fake_config.temporal_address,
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert health.returncode == 0, health.stderr
        assert "SERVING" in health.stdout
        assert not port_is_free(fake_config.temporal_port)
        assert not port_is_free(fake_config.temporal_ui_port)
        running = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode().split("\0")
        settings = [running[i + 1] for i, arg in enumerate(running) if arg == "--dynamic-config-value"]
        assert settings == [
            f"{name}={json.dumps(value)}" for name, value in DEV_SERVER_DYNAMIC_CONFIG.items()
        ]
    finally:
        server.stop()

    assert (fake_config.var_dir / "temporal.sqlite").exists()
    assert port_is_free(fake_config.temporal_port)
    assert port_is_free(fake_config.temporal_ui_port)
    assert not group_alive(server.pid)
    assert server.returncode is not None
