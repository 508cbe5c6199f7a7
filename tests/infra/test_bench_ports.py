"""The bench picks the ports of its stack and of both sides of its commands phase before any of them
starts: no two may share a port, although every one of them is free when it is picked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.bench.setup import command_servers
from infra.stack import StackConfig
from infra.stack import config as stack_config

pytestmark = pytest.mark.any_database


class LowestFirst:
    """A stand-in for the system's random source: each picker offers the range's ports in order, from
    its lowest, so two picks that did not avoid each other's ports would share every one of them."""

    def __init__(self) -> None:
        self._offers: Iterator[int] | None = None

    def choice(self, ports: range) -> int:
        if self._offers is None:
            self._offers = iter(ports)
        return next(self._offers)


def test_the_commands_phase_takes_none_of_the_stacks_ports_nor_the_other_sides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_config.random, "SystemRandom", LowestFirst)
    monkeypatch.setattr(stack_config, "port_is_free", lambda port: True)

    stack = StackConfig.on_free_ports(tmp_path)
    sides = command_servers(stack)

    ports = [config.port_numbers() for config in (stack, *(side.config for side in sides))]
    every = [port for group in ports for port in group]
    assert len(every) == len(set(every)), ports
