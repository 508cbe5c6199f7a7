"""The soak's judgement of its files: a capped, rotated file reaches its cap early and never more;
one that grows with the orders reaches more in the second half; a stretch too short says so."""

from infra.chaos.soak import StackSample, judge_files

MIB = 2**20


def samples(sizes: list[int], *, every: float = 15.0, wal: int = 4 * MIB) -> list[StackSample]:
    return [
        StackSample(
            seconds=index * every,
            final_orders=index,
            wal_bytes={"order_svc.sqlite3-wal": wal},
            log_bytes=size,
            trace_bytes=size // 2,
            trace_files=3,
        )
        for index, size in enumerate(sizes)
    ]


def verdicts(stack_samples: list[StackSample], **window: float) -> dict[str, str]:
    return {
        verdict.files: verdict.verdict for verdict in judge_files(stack_samples, **{"warm_up": 0} | window)
    }


def test_files_rotated_at_a_cap_are_bounded_and_files_growing_with_the_orders_are_not() -> None:
    sawtooth = [(index % 8 + 1) * MIB // 4 for index in range(120)]  # 0.25 to 2 MiB, again and again
    assert verdicts(samples(sawtooth)) == {
        "logs": "bounded",
        "traces": "bounded",
        "order_svc.sqlite3-wal": "bounded",
    }
    assert verdicts(samples([index * MIB // 8 for index in range(120)]))["logs"] == "growing"


def test_the_window_leaves_out_the_warm_up_and_what_came_after_the_last_order() -> None:
    filling_then_capped = [index * MIB // 4 for index in range(160)] + [40 * MIB] * 40  # full at 40 minutes
    assert verdicts(samples(filling_then_capped))["logs"] == "growing"  # judged from the start
    assert verdicts(samples(filling_then_capped), warm_up=2400.0)["logs"] == "bounded"
    after_the_run = [MIB] * 100 + [50 * MIB] * 20  # the audit's reads, say
    assert verdicts(samples(after_the_run), until=99 * 15.0)["logs"] == "bounded"


def test_under_five_minutes_judged_is_too_short_to_tell() -> None:
    assert set(verdicts(samples([MIB] * 20)).values()) == {"too short"}
    assert judge_files(samples([MIB]), warm_up=0) == []
