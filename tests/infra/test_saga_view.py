"""How `sagactl order show` draws a saga's steps: one row per step with its state styled, a step that a
closed saga never reached struck through as `skipped`."""

import pytest
from rich.console import Console

from infra.saga_view import STATE_STYLES, steps_table
from saga_contract import STEPS, StepState

pytestmark = pytest.mark.any_database


def step(name: str, state: str, **fields: object) -> dict:
    return {"name": name, "state": state, "attempts": 0, "last_error": None} | fields


def test_every_step_state_has_a_style_and_skipped_is_struck_through():
    assert set(STATE_STYLES) == set(StepState)
    assert "strike" in STATE_STYLES[StepState.SKIPPED]


def test_a_cancelled_sagas_table_shows_its_compensated_and_skipped_steps():
    saga = {
        "status": "COMPLETED",
        "steps": [
            step(STEPS[0], "compensated", attempts=1, started_at="2026-01-01T00:00:00.000000+00:00"),
            step(STEPS[1], "failed", attempts=1, last_error="payment_declined"),
            *(step(name, "skipped") for name in STEPS[2:]),
        ],
    }
    table = steps_table(saga)

    states = list(table.columns[1].cells)
    assert [str(cell) for cell in states] == ["compensated", "failed", "skipped", "skipped", "skipped"]
    assert [cell.style for cell in states[2:]] == [STATE_STYLES[StepState.SKIPPED]] * 3
    console = Console(width=120, record=True, color_system=None)
    console.print(table)
    assert "payment_declined" in console.export_text()
