"""`make test`'s lanes (infra/lanes.py): make targets side by side, each lane with ports of its own."""

from pathlib import Path

import pytest

from infra.lanes import main, port_shares, run

MAKEFILE = """\
ports-a:
\t@echo "a took $$SAGA_FREE_PORTS"
ports-b:
\t@echo "b took $$SAGA_FREE_PORTS"
fails:
\t@echo "about to fail"; exit 3
after-failure:
\t@echo "never reached"
"""


def test_the_range_is_cut_into_as_many_shares_as_lanes_none_overlapping():
    assert port_shares(2, range(20000, 26385)) == ["20000-23192", "23192-26385"]
    assert port_shares(3, range(20000, 20900)) == ["20000-20300", "20300-20600", "20600-20900"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Makefile").write_text(MAKEFILE)
    return tmp_path


def test_each_lane_gets_its_share_and_the_second_lanes_output_follows_the_first(project, capfd, monkeypatch):
    monkeypatch.setenv("SAGA_FREE_PORTS", "20000-22000")

    code = run([["ports-a"], ["ports-b"]], project / "logs", directory=project)

    out = capfd.readouterr().out
    assert code == 0
    assert "a took 20000-21000" in out
    assert "b took 21000-22000" in out
    assert out.index("a took") < out.index("== lane 2: make ports-b (exit code 0)") < out.index("b took")
    assert (project / "logs" / "ports-b.log").read_text() == "b took 21000-22000\n"


def test_a_failed_lane_stops_its_own_targets_and_gives_the_exit_code(project, capfd, monkeypatch):
    monkeypatch.setenv("SAGA_FREE_PORTS", "20000-22000")

    code = run([["ports-a"], ["fails", "after-failure"]], project / "logs", directory=project)

    out = capfd.readouterr().out
    assert code == 2  # make's own exit code for a target that failed
    assert "a took 20000-21000" in out, "the other lane ran to its end"
    assert "about to fail" in out
    assert "never reached" not in out


def test_a_range_that_cannot_be_read_stops_before_any_lane_starts(capsys, monkeypatch):
    monkeypatch.setenv("SAGA_FREE_PORTS", "20000")

    assert main(["lint"]) == 2

    assert "SAGA_FREE_PORTS must be LOW-HIGH" in capsys.readouterr().err
