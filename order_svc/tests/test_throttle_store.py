"""Where the throttle counters live (chassis.settings, chassis.throttling.CounterFileCache): in Redis
with REDIS_URL, and otherwise in files of the service's own under the var directory, which every
process of the service reads and writes; and how that directory stays private and bounded."""

import multiprocessing
import stat
import time
from pathlib import Path

import pytest
from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache
from django.core.exceptions import ImproperlyConfigured

from chassis.settings import THROTTLE_FILE_MAX_ENTRIES, service_settings
from chassis.throttling import CounterFileCache

ORDERS = "/api/v1/orders"


def counters_settings(environ: dict[str, str]) -> dict:
    settings = service_settings(name="order", base_dir=Path("."), apps=["orders"], environ=environ)
    return settings["CACHES"]["default"]


def file_cache(directory: Path, max_entries: int = 10, cull_frequency: int = 3) -> CounterFileCache:
    cache = CounterFileCache(
        str(directory), {"OPTIONS": {"MAX_ENTRIES": max_entries, "CULL_FREQUENCY": cull_frequency}}
    )
    cache.scan_every = 1  # look at the directory before every write, so a test sees each decision
    return cache


def counter_files(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir() if path.name.endswith(CounterFileCache.cache_suffix)}


def test_without_redis_the_counters_live_in_files_of_the_service_under_the_var_directory(tmp_path):
    cache = counters_settings({"SAGA_VAR_DIR": str(tmp_path)})

    assert cache == {
        "BACKEND": "chassis.throttling.CounterFileCache",
        "LOCATION": str(tmp_path / "throttle" / "order_svc"),
        "OPTIONS": {"MAX_ENTRIES": THROTTLE_FILE_MAX_ENTRIES, "CULL_FREQUENCY": 3},
    }


def test_with_redis_url_the_counters_live_in_redis(tmp_path):
    cache = counters_settings({"SAGA_VAR_DIR": str(tmp_path), "REDIS_URL": "redis://cache.example:6379/0"})

    assert cache == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.example:6379/0",
    }


@pytest.mark.django_db
def test_what_one_process_counted_in_the_files_another_process_sees(settings, customer, tmp_path):
    """The throttle writes through one cache client; a second client on the same directory (as
    another gunicorn worker has) reads the same count, and its own count continues it."""
    settings.THROTTLE_RATES = {"requests": "100/min", "order_placements": "3/min"}
    settings.CACHES = {
        "default": {"BACKEND": "chassis.throttling.CounterFileCache", "LOCATION": str(tmp_path / "counters")}
    }
    alice = customer("alice")
    body = {"items": [{"sku": "TEA", "quantity": 1}]}

    assert [alice.post(ORDERS, body).status_code for _ in range(3)] == [202, 202, 202]
    assert alice.post(ORDERS, body).status_code == 429

    another_process = caches.create_connection("default")
    assert len(another_process.get("throttle_order_placements_customer:alice")) == 3
    assert len(another_process.get("throttle_requests_customer:alice")) == 4


def test_the_directory_and_its_files_are_the_owners_alone(tmp_path):
    directory = tmp_path / "throttle" / "order_svc"
    cache = file_cache(directory)

    cache.set("throttle_requests_customer:alice", [time.time()], 60)

    for folder in (directory.parent, directory):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for name in counter_files(directory):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600


def test_a_directory_others_may_enter_is_refused(tmp_path):
    directory = tmp_path / "throttle" / "order_svc"
    directory.mkdir(parents=True, mode=0o755)
    directory.chmod(0o755)

    with pytest.raises(ImproperlyConfigured, match="this user's alone"):
        file_cache(directory)


def test_a_full_directory_drops_the_expired_counters_first(tmp_path):
    cache = file_cache(tmp_path, max_entries=10)
    for n in range(6):
        cache.set(f"gone-{n}", [1.0], -1)  # expired as soon as written
    for n in range(4):
        cache.set(f"live-{n}", [1.0], 60)
    assert len(counter_files(tmp_path)) == 10

    cache.set("new", [1.0], 60)

    assert len(counter_files(tmp_path)) == 5
    assert all(cache.get(f"live-{n}") == [1.0] for n in range(4))
    assert cache.get("new") == [1.0]


def test_a_directory_full_of_live_counters_loses_a_random_third(tmp_path):
    cache = file_cache(tmp_path, max_entries=9)
    for n in range(9):
        cache.set(f"live-{n}", [1.0], 60)

    cache.set("new", [1.0], 60)

    assert len(counter_files(tmp_path)) == 9 - 3 + 1
    assert cache.get("new") == [1.0]


def test_the_directory_is_looked_at_once_every_so_many_writes(tmp_path):
    cache = file_cache(tmp_path, max_entries=2)
    cache.scan_every = 5

    for n in range(4):
        cache.set(f"live-{n}", [1.0], 60)
    assert len(counter_files(tmp_path)) == 4, "no look before the fifth write"

    cache.set("fifth", [1.0], 60)
    assert len(counter_files(tmp_path)) < 5


def test_a_counter_written_here_is_read_by_djangos_own_file_cache(tmp_path):
    history = [time.time() - n for n in range(600)]
    file_cache(tmp_path).set("throttle_requests_customer:alice", history, 60)

    assert FileBasedCache(str(tmp_path), {}).get("throttle_requests_customer:alice") == history


def test_a_counter_is_rewritten_in_its_own_file(tmp_path):
    cache = file_cache(tmp_path)
    cache.set("throttle_requests_customer:alice", [1.0, 2.0, 3.0], 60)
    (name,) = counter_files(tmp_path)
    inode = (tmp_path / name).stat().st_ino

    cache.set("throttle_requests_customer:alice", [4.0], 60)

    assert counter_files(tmp_path) == {name}
    assert {path.name for path in tmp_path.iterdir()} == {name}, (
        "no file beside it, not even for a moment's write"
    )
    assert (tmp_path / name).stat().st_ino == inode
    assert cache.get("throttle_requests_customer:alice") == [4.0]


def _count(directory: str, times: int) -> None:
    cache = file_cache(Path(directory))
    for _ in range(times):
        if not cache.add("rl:login:alice", 1, 60):
            cache.incr("rl:login:alice")


def test_processes_counting_one_key_at_once_lose_no_count(tmp_path):
    """django-ratelimit's way (add, else incr) from four processes at once: each step reads and
    writes under one lock, so the count is exact."""
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_count, args=(str(tmp_path), 250)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    assert file_cache(tmp_path).get("rl:login:alice") == 1000


def test_add_keeps_a_live_counter_and_replaces_an_expired_one(tmp_path):
    cache = file_cache(tmp_path)
    cache.set("expired", 7, -1)
    cache.set("live", 7, 60)

    assert cache.add("expired", 1, 60) is True
    assert cache.add("live", 1, 60) is False
    assert (cache.get("expired"), cache.get("live")) == (1, 7)
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")


def test_touch_gives_a_live_counter_a_new_expiry_and_an_expired_one_none(tmp_path):
    cache = file_cache(tmp_path)
    cache.set("live", [1.0], 1)
    cache.set("expired", [1.0], -1)

    assert cache.touch("live", 3600) is True
    assert cache.touch("expired", 3600) is False
    assert cache.touch("missing", 3600) is False
    time.sleep(1.1)
    assert cache.get("live") == [1.0]
    assert cache.has_key("expired") is False
