"""sagactl's refusals: a port in use or a malformed setting stops `up` with one line and exit code 2
before anything starts; a bad --item is one line and exit code 2 before any request is sent.
"""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from infra.sagactl import UsageError, main, parse_item
from infra.stack import PORT_SETTINGS
from tests.support.ports import listening_on
from tests.support.processes import marked_processes
from tests.support.waiting import wait_for

pytestmark = pytest.mark.any_database

SAGACTL = Path(sys.executable).parent / "sagactl"


@pytest.mark.parametrize(("owner", "variable"), list(PORT_SETTINGS.values()), ids=lambda value: value)
def test_up_refuses_a_port_in_use_naming_the_variable_that_moves_it(
    owner, variable, port_env, tmp_path, marker
):
    port = int(port_env[variable])
    with listening_on(port):
        done = subprocess.run(
            [str(SAGACTL), "up"],
            env=os.environ | port_env | {"SAGA_VAR_DIR": str(tmp_path / "var")},
            capture_output=True,
            text=True,
            timeout=20,
        )
        survivors = marked_processes(marker)

    assert done.returncode == 2
    assert (
        done.stderr == f"sagactl: port {port} ({owner}) is already in use; set {variable} to another port\n"
    )
    assert done.stdout == ""
    assert survivors == []
    assert not (tmp_path / "var").exists()  # nothing was started, not even a log file


def test_up_refuses_two_settings_on_one_port(port_env, tmp_path, marker):
    port_env["INVENTORY_SVC_PORT"] = port_env["PAYMENT_SVC_PORT"]
    done = subprocess.run(
        [str(SAGACTL), "up", "--chaos"],
        env=os.environ | port_env | {"SAGA_VAR_DIR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        timeout=20,
    )

    assert done.returncode == 2
    assert done.stderr == (
        f"sagactl: port {port_env['PAYMENT_SVC_PORT']} is set for both payment_svc and inventory_svc; "
        "set INVENTORY_SVC_PORT to another port\n"
    )


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1"])
def test_a_malformed_port_variable_is_one_line_and_exit_code_2(value, monkeypatch, capsys):
    monkeypatch.setenv("ORDER_SVC_PORT", value)

    assert main(["order", "place", "--customer", "alice", "--item", "MUG:1"]) == 2

    assert capsys.readouterr().err == (
        f"sagactl: ORDER_SVC_PORT must be a port number from 1 to 65535, not {value!r}\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("MUG-CERAMIC:2", ("MUG-CERAMIC", 2)), ("a_b.c:10", ("a_b.c", 10)), ("SKU:007", ("SKU", 7))],
)
def test_parse_item_reads_sku_and_quantity(text, expected):
    assert parse_item(text) == expected


@pytest.mark.parametrize(
    "text",
    ["MUG", "MUG:", ":2", "MUG:0", "MUG:-1", "MUG:two", "MUG:1.5", "MUG 1:2", "A:B:2", "MUG:²", "MUG:2 "],
)
def test_parse_item_rejects_anything_but_sku_colon_positive_quantity(text):
    with pytest.raises(UsageError, match="expected SKU:QTY"):
        parse_item(text)


def test_a_bad_item_is_one_line_and_exit_code_2_without_any_request(monkeypatch, capsys):
    monkeypatch.setenv("ORDER_SVC_PORT", "1")  # nothing listens there: a request would be exit code 1

    code = main(["order", "place", "--customer", "alice", "--item", "MUG:2", "--item", "KETTLE"])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == (
        "sagactl: bad --item 'KETTLE': expected SKU:QTY with QTY a whole number >= 1, e.g. MUG-CERAMIC:2\n"
    )
    assert captured.out == ""


def test_a_non_positive_timeout_is_exit_code_2(capsys):
    assert main(["order", "place", "--customer", "alice", "--item", "MUG:2", "--timeout", "0"]) == 2
    assert capsys.readouterr().err == "sagactl: --timeout must be a positive number of seconds, not 0\n"


def test_every_command_explains_itself(capsys):
    """`--help` of sagactl and of each of its commands prints its usage, whatever its help holds
    (the chaos scenarios' summaries say "30 %", which argparse would take for a format)."""
    parser_help = subprocess.run([str(SAGACTL), "--help"], capture_output=True, text=True, timeout=30)
    assert parser_help.returncode == 0, parser_help.stderr
    commands = re.findall(r"^    ([a-z][a-z-]*)", parser_help.stdout, re.MULTILINE)
    assert {"up", "chaos", "bench", "audit"} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as leaving:
            main([command, "--help"])
        assert leaving.value.code == 0, command
        assert capsys.readouterr().out.startswith(f"usage: sagactl {command}"), command


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=lambda signum: signum.name)
def test_a_bench_stopped_by_a_signal_stops_its_stack_first(signum, tmp_path, marker):
    """A bench or a chaos run owns a stack of its own: stopped as a service manager or a closed
    terminal stops it, it stops every process it started, then exits 130."""
    log = tmp_path / "bench.log"
    with log.open("w") as out:
        bench = subprocess.Popen(
            [str(SAGACTL), "bench", "--orders", "1", "--concurrency", "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ | {"SAGA_VAR_DIR": str(tmp_path / "var")},
        )
    try:
        wait_for(lambda: len(marked_processes(marker)) > 5, 120, "the bench's stack to start")
        bench.send_signal(signum)
        assert bench.wait(60) == 130, log.read_text()
    finally:
        if bench.poll() is None:
            bench.kill()
    assert marked_processes(marker) == []
