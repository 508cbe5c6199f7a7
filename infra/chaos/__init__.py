"""`sagactl chaos`: orders flow through a stack of its own while failures are injected, then the
audit proves that money and stock still add up.

A run starts a chaos-enabled, self-healing stack on free loopback ports, creates its own catalog and
accounts, places a seeded mix of orders (valid, out of stock, declined, unknown SKU) at a steady
rate, injects the scenario's failures while they flow, waits (bounded) until every order is final,
audits, and reports. Every loop here is bounded in count and time; nothing leaves 127.0.0.1.

- `scenarios`: what each scenario injects, and the stack it runs on;
- `plan`: the run's own catalog, accounts and mix of orders;
- `injection`: the services' fault endpoints and the monkey that kills and pauses processes;
- `runner`: one run, from the first order to the audit;
- `report`: what a run found;
- `command`: `sagactl chaos` (arguments, terminal output).
"""

from infra.chaos.command import add_command, command
from infra.chaos.report import ChaosReport
from infra.chaos.runner import ChaosOptions, run_chaos
from infra.chaos.scenarios import CHAOS_TUNING, SCENARIOS, Scenario

__all__ = [
    "CHAOS_TUNING",
    "SCENARIOS",
    "ChaosOptions",
    "ChaosReport",
    "Scenario",
    "add_command",
    "command",
    "run_chaos",
]
