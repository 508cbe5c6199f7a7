"""The soak's judgement of its files. A log or trace file the stack rotates at a cap is bounded when
none ever stood above its cap and the traces folder kept to its budget, however the totals moved;
a write-ahead log, which nothing of ours caps, is bounded when it reached no more in the second half
of the run than in the first. A stretch under five minutes is too short to tell."""

from infra.chaos.soak import ProcessSample, StackSample, judge, judge_files
from observability.tracing import TRACE_FILES_KEPT

MIB = 2**20
CAP = MIB


def samples(
    totals: list[int],
    *,
    largest: int = CAP,
    wal: list[int] | None = None,
    live: int = 10,
    every: float = 15.0,
) -> list[StackSample]:
    return [
        StackSample(
            seconds=index * every,
            final_orders=index,
            wal_bytes={"order_svc.sqlite3-wal": (wal or [4 * MIB] * len(totals))[index]},
            log_bytes=total,
            trace_bytes=total,
            trace_files=live + 4,
            largest_log_bytes=largest,
            largest_trace_bytes=largest,
            live_trace_files=live,
        )
        for index, total in enumerate(totals)
    ]


def verdicts(
    stack_samples: list[StackSample],
    *,
    warm_up: float = 0.0,
    until: float | None = None,
    file_cap: int | None = CAP,
) -> dict[str, str]:
    judged = judge_files(stack_samples, warm_up=warm_up, until=until, file_cap=file_cap)
    return {verdict.files: verdict.verdict for verdict in judged}


def test_capped_files_are_bounded_by_their_cap_even_while_slow_ones_fill_up() -> None:
    filling = [4 * MIB + index * MIB // 20 for index in range(120)]  # slow logs still growing to their cap
    assert verdicts(samples(filling)) == {
        "logs": "bounded",
        "traces": "bounded",
        "order_svc.sqlite3-wal": "bounded",
    }


def test_a_file_above_its_cap_or_a_folder_over_its_budget_is_growing() -> None:
    assert verdicts(samples([4 * MIB] * 120, largest=2 * CAP))["logs"] == "growing"
    budget = (TRACE_FILES_KEPT + 10) * CAP
    assert verdicts(samples([2 * budget] * 120))["traces"] == "growing"
    assert verdicts(samples([budget] * 120))["traces"] == "bounded"


def test_an_uncapped_file_is_judged_by_its_peaks_in_each_half() -> None:
    sawtooth = [(index % 8 + 1) * MIB // 4 for index in range(120)]
    assert verdicts(samples([MIB] * 120, wal=sawtooth))["order_svc.sqlite3-wal"] == "bounded"
    climbing = [index * MIB // 8 for index in range(120)]
    assert verdicts(samples([MIB] * 120, wal=climbing))["order_svc.sqlite3-wal"] == "growing"
    assert verdicts(samples(climbing), file_cap=None)["logs"] == "growing"  # no cap known: by its peaks


def test_the_window_leaves_out_the_warm_up_and_what_came_after_the_last_order() -> None:
    filling_then_full = [index * MIB // 4 for index in range(160)] + [40 * MIB] * 40  # full at 40 minutes
    assert verdicts(samples([MIB] * 200, wal=filling_then_full))["order_svc.sqlite3-wal"] == "growing"
    assert (
        verdicts(samples([MIB] * 200, wal=filling_then_full), warm_up=2400.0)["order_svc.sqlite3-wal"]
        == "bounded"
    )
    after_the_run = [MIB] * 100 + [50 * MIB] * 20  # the audit's reads, say
    assert (
        verdicts(samples([MIB] * 120, wal=after_the_run), until=99 * 15.0)["order_svc.sqlite3-wal"]
        == "bounded"
    )


def test_under_five_minutes_judged_is_too_short_to_tell() -> None:
    assert set(verdicts(samples([MIB] * 20)).values()) == {"too short"}
    assert judge_files(samples([MIB]), warm_up=0) == []


def test_a_write_ahead_log_still_under_sqlites_checkpoint_size_is_bounded_however_it_creeps() -> None:
    creeping = [MIB // 20 + index * 20_000 for index in range(120)]  # 0.05 to 2.3 MiB
    assert verdicts(samples([MIB] * 120, wal=creeping))["order_svc.sqlite3-wal"] == "bounded"


def process_samples(threads: list[int], pool: list[int], descriptors: list[int]) -> list[ProcessSample]:
    return [
        ProcessSample(index * 15.0, "worker", 42, 100 * MIB, index * 0.5, fds, total, pooled)
        for index, (total, pooled, fds) in enumerate(zip(threads, pool, descriptors, strict=True))
    ]


def test_a_process_is_judged_on_its_least_threads_and_descriptors_without_the_sdks_pool() -> None:
    """A burst spawns pool threads and opens connections for a while; a leak raises the floor."""
    steady = [10] * 40
    burst = [10, 10, 14, 10] * 10
    (calm,) = judge(process_samples(burst, [0, 0, 4, 0] * 10, burst), warm_up=0)
    assert calm.verdict == "flat"
    (pool_kept_busy,) = judge(process_samples([10] * 20 + [15] * 20, [2] * 20 + [7] * 20, steady), warm_up=0)
    assert (pool_kept_busy.threads_start, pool_kept_busy.threads_end) == (8, 8)
    assert pool_kept_busy.verdict == "flat"
    (leaking,) = judge(process_samples([10 + index // 4 for index in range(40)], [0] * 40, steady), warm_up=0)
    assert leaking.verdict == "growing"
