"""The deployment's monitoring files: Prometheus accepts the scrape configuration and the rules
(promtool, from Debian's prometheus package), and each alert's runbook is a heading of docs/observability.md."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.monitoring import PROMETHEUS_FILES, write_scrape_files
from infra.stack import StackConfig

RUNBOOKS = Path(__file__).resolve().parents[2] / "docs" / "observability.md"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian: apt-get install prometheus; .ci/run installs it)",
)


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run(
        [PROMTOOL, "check", "rules", str(PROMETHEUS_FILES / "rules.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout


@needs_promtool
def test_promtool_accepts_the_scrape_configuration_with_a_stacks_targets(tmp_path: Path) -> None:
    configuration = write_scrape_files(StackConfig(var_dir=tmp_path), tmp_path / "prometheus")
    done = subprocess.run(
        [PROMTOOL, "check", "config", str(configuration)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_links_a_runbook_of_the_docs() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", RUNBOOKS.read_text(), flags=re.MULTILINE)
    }
    rules = (PROMETHEUS_FILES / "rules.yml").read_text()
    alerts = re.findall(r"^\s*- alert: (\w+)$", rules, flags=re.MULTILINE)
    runbooks = re.findall(r'^\s*runbook: "docs/observability\.md#([a-z0-9-]+)"$', rules, flags=re.MULTILINE)
    assert len(alerts) == len(runbooks) == 6
    assert set(runbooks) <= anchors, set(runbooks) - anchors
