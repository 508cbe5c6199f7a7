"""SQLite storage that fails under a running service (the embedded default): a database file that no
longer takes writes, and a full disk. Each gives clear 503s in the error shape (never a 500) while
reads still answer, leaves the database intact (`PRAGMA integrity_check`), and the service writes
again once the storage does.

The services run as root here, and root ignores file permissions, so a read-only file is simulated
with the immutable attribute (`chattr +i`), which the kernel enforces on root too, and on descriptors
that are already open: the database file and its write-ahead log are made immutable, as a file turned
read-only under a running service (or a storage that refuses writes) would be. The shared-memory index
is left writable, as SQLite needs it to read at all. The full disk is a small tmpfs that holds
inventory_svc's database, filled until the filesystem has no free block."""

from __future__ import annotations

import contextlib
import errno
import sqlite3
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.stack import Stack, StackConfig
from tests.support.api import Api

SMALL_DISK_BYTES = 16 * 1024 * 1024
WRITE_ATTEMPTS = 20
STORAGE_CODES = {"database_read_only", "database_unavailable", "storage_full"}


@contextlib.contextmanager
def small_disk(folder: Path, size: int) -> Iterator[Path | None]:
    """A tmpfs of `size` bytes mounted on `folder` (made), unmounted afterwards; None when mounting is
    not allowed here."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        yield None
        return
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "--lazy", str(folder)], capture_output=True, check=False)


@contextlib.contextmanager
def immutable(*files: Path) -> Iterator[None]:
    """`files` refuse every write, root's too, until the block ends."""
    subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True, check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], capture_output=True, check=True)


def immutable_reason(folder: Path) -> str | None:
    """Why files under `folder` cannot be made immutable here, or None when they can."""
    probe = folder / f"immutable-probe-{uuid.uuid4().hex[:8]}"
    probe.write_bytes(b"")
    try:
        made = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "chattr is not installed"
    finally:
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True, check=False)
        probe.unlink()
    return None if made.returncode == 0 else f"chattr +i is refused here: {made.stderr.strip()}"


def fill(folder: Path) -> Path:
    """Write a ballast file into `folder` until its filesystem has not one block left."""
    ballast = folder / "ballast"
    with ballast.open("wb", buffering=0) as out:
        for chunk in (1024 * 1024, 4096, 512):
            for _ in range(SMALL_DISK_BYTES // chunk + 1):
                try:
                    out.write(b"\0" * chunk)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    return ballast


def integrity(database: Path) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=20)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def in_flight(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=20)) as db:
        query = "SELECT count(*) FROM idempotency_idempotencyrecord WHERE state = 'IN_FLIGHT'"
        return int(db.execute(query).fetchone()[0])


def assert_storage_refusal(response: httpx.Response, codes: set[str]) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] in codes, body


def refused_summary(answers: list[httpx.Response]) -> str:
    """How many writes were refused, with which codes, and the slowest refusal."""
    codes = Counter(answer.json().get("code") for answer in answers)
    slowest = max(answer.elapsed.total_seconds() for answer in answers)
    return f"{len(answers)} writes refused ({dict(codes)}), the slowest in {slowest * 1000:.0f} ms"


@pytest.fixture(scope="module")
def sqlite_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Path | None]]:
    """A stack on SQLite files, inventory_svc's on a small tmpfs where one can be mounted (linked
    from where the service looks for it: SQLite follows the link and keeps its log beside the file)."""
    var_dir = tmp_path_factory.mktemp("sqlite-storage")
    with small_disk(var_dir / "small-disk", SMALL_DISK_BYTES) as disk:
        if disk is not None:
            (var_dir / "inventory.sqlite3").symlink_to(disk / "inventory.sqlite3")
        config = StackConfig.on_free_ports(var_dir, postgres_url=None, database_urls={})
        with Stack(config) as stack:
            yield stack, disk


@pytest.fixture
def api(sqlite_stack: tuple[Stack, Path | None]) -> Iterator[Api]:
    with Api.for_stack(sqlite_stack[0]) as client:
        yield client


def test_a_database_file_made_read_only_refuses_writes_and_still_reads(sqlite_stack, api):
    stack, _ = sqlite_stack
    database = stack.config.var_dir / "payment.sqlite3"
    if reason := immutable_reason(database.parent):
        pytest.skip(reason)
    customer = api.create_account(balance_cents=5_000)["customer_id"]
    body = {"customer_id": f"ro-{uuid.uuid4().hex[:8]}", "balance_cents": 700}
    key = str(uuid.uuid4())

    with immutable(database, database.with_name(f"{database.name}-wal")):
        # Every worker thread's connection is met: some opened before (their write fails in the log),
        # any opened since finds the file read-only.
        refusals = [api.payment.post("/api/v1/accounts", body, key=key) for _ in range(WRITE_ATTEMPTS)]
        read = api.payment.get(f"/api/v1/accounts/{customer}")
        ready = httpx.get(f"{stack.payment_url}/readyz", timeout=10)

    for refused in refusals:
        assert_storage_refusal(refused, {"database_read_only", "database_unavailable"})
    assert read.status_code == 200, read.text
    assert read.json()["balance_cents"] == 5_000
    assert ready.status_code == 200, "reads answer, so the service stays ready"
    assert integrity(database) == "ok"

    # The same request, retried as a client retries a 503. A connection that opened the file while it
    # was read-only refuses it once more, and is opened afresh for the next request.
    after = []
    for _ in range(WRITE_ATTEMPTS):
        created = api.payment.post("/api/v1/accounts", body, key=key)
        if created.status_code != 503:
            break
        after.append(created)
    assert created.status_code == 201, created.text
    for refused in after:
        assert_storage_refusal(refused, {"database_read_only"})
    print(f"\nread-only: {refused_summary(refusals)}; {len(after)} refused after it was writable again")
    assert api.get_account(body["customer_id"])["balance_cents"] == 700
    assert in_flight(database) == 0
    assert integrity(database) == "ok"


def test_a_full_disk_refuses_writes_and_recovers_once_space_is_freed(sqlite_stack, api):
    stack, disk = sqlite_stack
    if disk is None:
        pytest.skip("mounting a tmpfs is not allowed here (it needs root or CAP_SYS_ADMIN)")
    database = disk / "inventory.sqlite3"
    sku = api.create_product(price_cents=250, on_hand=3)["sku"]
    # Empty the write-ahead log into the database and truncate it, so the next write needs new blocks.
    with contextlib.closing(sqlite3.connect(database, timeout=20)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    ballast = fill(disk)
    try:
        body = {
            "sku": f"FULL-{uuid.uuid4().hex[:8]}".upper(),
            "name": "On a full disk",
            "price_cents": 1,
            "on_hand": 1,
        }
        key = str(uuid.uuid4())
        answers = [api.inventory.post("/api/v1/products", body, key=key) for _ in range(WRITE_ATTEMPTS)]
        read = api.inventory.get(f"/api/v1/products/{sku}")
        ready = httpx.get(f"{stack.inventory_url}/readyz", timeout=10)
    finally:
        ballast.unlink()

    for answer in answers:
        assert_storage_refusal(answer, {"storage_full"})
    print(f"\nfull disk: {refused_summary(answers)}")
    assert read.status_code == 200, read.text
    assert read.json()["on_hand"] == 3
    assert ready.status_code == 200, "reads answer, so the service stays ready"
    assert integrity(database) == "ok"

    created = api.inventory.post("/api/v1/products", body, key=key)  # the same request, retried
    assert created.status_code == 201, created.text
    assert api.get_product(body["sku"])["on_hand"] == 1
    assert in_flight(database) == 0
    assert integrity(database) == "ok"
