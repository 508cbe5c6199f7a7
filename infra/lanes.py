"""Make targets in lanes side by side, each lane's targets one after the other: `make test`'s layers.

    python -m infra.lanes "test-e2e" "test-services test-chaos"

Most of a test layer's time is its tests waiting for what they check (sagas retrying, breakers
resetting, orders placed at a set rate), so two lanes take little longer than the longer alone. The
first lane writes to the terminal as it runs; every other lane writes to var/test-lanes/<its
targets>.log (named after them, since lanes nest: CI's first lane is `make test`, itself in lanes),
printed when all have ended. Each lane draws its stacks' free ports from a share of its own of the
range (SAGA_FREE_PORTS, or the default: see infra.stack.config.pickable_ports), so that no two lanes
pick one port at the same moment. The exit code is the first failed lane's, else 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.stack.config import PORT_RANGE_VARIABLE, REPO_ROOT, ConfigError, pickable_ports


def port_shares(lanes: int, ports: range) -> list[str]:
    """`ports` cut into `lanes` ranges as SAGA_FREE_PORTS takes them (LOW-HIGH, HIGH left out)."""
    step = len(ports) // lanes
    return [
        f"{ports.start + i * step}-{ports.start + (i + 1) * step if i < lanes - 1 else ports.stop}"
        for i in range(lanes)
    ]


def run(lanes: list[list[str]], log_dir: Path, *, directory: Path = REPO_ROOT) -> int:
    """Run `lanes` of make targets in `directory` side by side; the first failed lane's exit code, else 0."""
    log_dir.mkdir(parents=True, exist_ok=True)
    logs = {number: log_dir / f"{'_'.join(lanes[number])}.log" for number in range(1, len(lanes))}
    running = []
    for number, (targets, ports) in enumerate(
        zip(lanes, port_shares(len(lanes), pickable_ports()), strict=True)
    ):
        env = {**os.environ, PORT_RANGE_VARIABLE: ports}
        command = ["make", "--no-print-directory", *targets]
        print(f"== lane {number + 1} ({PORT_RANGE_VARIABLE}={ports}): make {' '.join(targets)}", flush=True)
        output = None if number == 0 else logs[number].open("w")
        running.append(
            subprocess.Popen(command, cwd=directory, env=env, stdout=output, stderr=subprocess.STDOUT)
        )
        if output is not None:
            output.close()
    codes = [process.wait() for process in running]
    for number in range(1, len(lanes)):
        print(f"== lane {number + 1}: make {' '.join(lanes[number])} (exit code {codes[number]})", flush=True)
        sys.stdout.write(logs[number].read_text(errors="replace"))
    return next((code for code in codes if code), 0)


def main(argv: list[str]) -> int:
    lanes = [lane.split() for lane in argv]
    if not lanes or not all(lanes):
        print("usage: python -m infra.lanes 'TARGET ...' ['TARGET ...' ...]", file=sys.stderr)
        return 2
    try:
        return run(lanes, REPO_ROOT / "var" / "test-lanes")
    except ConfigError as error:  # SAGA_FREE_PORTS that cannot be cut
        print(f"infra.lanes: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
