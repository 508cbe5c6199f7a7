"""A throwaway PostgreSQL server of the machine's own binaries, for tests and chaos runs that make a
database die: `initdb` into a temporary folder, served on a free port of 127.0.0.1 with trust
authentication and its unix socket in that folder, killed with SIGKILL as a crash would kill it, and
started again on the same port and data. It signals only the postmaster it launched, and the
processes that postmaster forked; another server on the machine is never touched.

    python -m infra.pg_server COMMAND [ARG ...]

runs COMMAND with PG_URL set to such a server, sized for the PostgreSQL test pass, and removes the
server when COMMAND ends: the Makefile's `*-postgres` targets run so when no PG_URL is given."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import psycopg

from infra.stack.config import HOST, PG_BIN_DIR_VARIABLE, free_ports, postgres_bin_dir

SERVER_USER = "postgres"
"""The account the server runs as when this process is root: PostgreSQL refuses to run as root."""
_DEBIAN_BIN_DIRS = "/usr/lib/postgresql/*/bin"
_BINARIES = ("initdb", "postgres")
_STILL_IN_USE = ("pre-existing shared memory block", "lock file", "could not bind")
"""What a new postmaster says while the orphans of a killed one still hold its shared memory or port."""
PASS_CONNECTIONS = 300
"""The connections a server for the PostgreSQL test pass allows. Each server thread of a stack keeps
a connection of its own: at its peak the bench holds about 72 (its stack, the product's services
again and the framework floor), a chaos stack about 40, and the pass runs two lanes side by side.
A default server's 100 is too few for that."""
URL_VARIABLE = "PG_URL"


def find_binaries() -> Path | None:
    """The folder of the PostgreSQL server binaries: $PG_BIN_DIR, else the newest
    /usr/lib/postgresql/<version>/bin, else `pg_config --bindir`; None when none holds initdb and postgres."""
    candidates: list[Path] = []
    configured = postgres_bin_dir()
    if configured:
        candidates.append(configured)
    versions = sorted(Path("/").glob(_DEBIAN_BIN_DIRS.lstrip("/")), key=_version, reverse=True)
    candidates.extend(versions)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            candidates.append(Path(found.stdout.strip()))
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in _BINARIES):
            return folder
    return None


def _version(bin_dir: Path) -> tuple[int, ...]:
    name = bin_dir.parent.name
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def unavailable_reason() -> str | None:
    """Why no throwaway server can run on this machine, in a sentence; None when one can."""
    if find_binaries() is None:
        return (
            "no PostgreSQL server binaries (initdb, postgres) under /usr/lib/postgresql/*/bin, "
            f"${PG_BIN_DIR_VARIABLE} or pg_config --bindir"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root, and there is no {SERVER_USER!r} account to run PostgreSQL as"
    return None


class ThrowawayPostgres:
    """One PostgreSQL server in a temporary folder of its own. `start` makes its cluster on first use
    and serves it; `kill` is a crash (SIGKILL to the postmaster, nothing cleaned up); `start` again
    serves the same data on the same port, once the killed server's orphans have let go of it;
    `remove` stops it and deletes the folder. As a context manager: started, then removed."""

    def __init__(
        self, *, port: int | None = None, bin_dir: Path | None = None, max_connections: int = 200
    ) -> None:
        found = bin_dir or find_binaries()
        if found is None:
            raise RuntimeError(unavailable_reason() or "no PostgreSQL server binaries")
        self.bin_dir = found
        self.port = port or free_ports(1)[0]
        self.max_connections = max_connections
        # Under the system's temporary folder, not a caller's: the server's account must be able to reach it.
        self.folder = Path(tempfile.mkdtemp(prefix="saga-postgres-"))
        self.data_dir = self.folder / "data"
        self.log_path = self.folder / "server.log"
        self._user, self._group = _server_account()
        if self._user is not None and self._group is not None:
            os.chown(self.folder, self._user, self._group)
        self._process: subprocess.Popen[bytes] | None = None
        self._orphans: list[int] = []

    def __enter__(self) -> ThrowawayPostgres:
        try:
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    @property
    def url(self) -> str:
        """The server's URL, as StackConfig(postgres_url=...) takes it."""
        return f"postgres://{SERVER_USER}@{HOST}:{self.port}"

    def is_running(self) -> bool:
        """Whether the postmaster this object launched is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 60.0) -> float:
        """Serve the cluster (made first if there is none) and wait until it accepts connections;
        the seconds that took. A killed server's orphans may hold its shared memory for a moment:
        the start is tried again until `timeout`. RuntimeError with the server's log if it never serves."""
        if self.is_running():
            return 0.0
        began = time.monotonic()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(timeout)
        deadline = began + timeout
        while True:
            self._wait_orphans_gone(deadline)
            self._launch()
            while self.is_running() and not self._accepts_connections():
                if time.monotonic() >= deadline:
                    self.stop()
                    raise RuntimeError(
                        f"PostgreSQL did not accept connections in {timeout:.0f} s\n{self.log_tail()}"
                    )
                time.sleep(0.1)
            if self.is_running():
                return time.monotonic() - began
            if time.monotonic() >= deadline or not any(cause in self.log_tail() for cause in _STILL_IN_USE):
                raise RuntimeError(f"PostgreSQL exited while starting\n{self.log_tail()}")
            time.sleep(0.2)

    def kill(self) -> int:
        """SIGKILL the postmaster, as a crash or the OOM killer would: no shutdown, no checkpoint. Its
        backends and helpers notice they are orphans and exit by themselves. The killed pid."""
        process = self._process
        if process is None or process.poll() is not None:
            raise RuntimeError("the server is not running")
        self._orphans = _children(process.pid)
        process.kill()
        process.wait(timeout=10)
        return process.pid

    def stop(self, timeout: float = 20.0) -> None:
        """A fast shutdown (SIGINT): sessions ended, a checkpoint written. SIGKILL past `timeout`."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        # Orphans of an earlier kill that are somehow still there go too: they are this server's.
        for pid in self._orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._orphans = []

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _initdb(self, timeout: float) -> None:
        done = subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                f"--pgdata={self.data_dir}",
                f"--username={SERVER_USER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.folder,
            user=self._user,
            group=self._group,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    def _launch(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(self.bin_dir / "postgres"),
                    f"-D{self.data_dir}",
                    f"--port={self.port}",
                    f"--unix_socket_directories={self.folder}",
                    f"--listen_addresses={HOST}",
                    f"--max_connections={self.max_connections}",
                    # A killed server loses nothing the kernel already holds; only a machine crash
                    # would need the flushes, and they slow a test's migrations down.
                    "--fsync=off",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C meant for the caller is not a fast shutdown
                cwd=self.folder,
                user=self._user,
                group=self._group,
            )

    def _accepts_connections(self) -> bool:
        try:
            with psycopg.connect(f"{self.url}/postgres", connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _wait_orphans_gone(self, deadline: float) -> None:
        while self._orphans and time.monotonic() < deadline:
            self._orphans = [pid for pid in self._orphans if _running(pid)]
            if self._orphans:
                time.sleep(0.05)


def _server_account() -> tuple[int | None, int | None]:
    """(uid, gid) of the account the server must run as; (None, None): this process's own."""
    if os.geteuid() != 0:
        return None, None
    account = pwd.getpwnam(SERVER_USER)
    return account.pw_uid, account.pw_gid


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    return [child for child, parent in _parents(Path("/proc").glob("[0-9]*/stat")) if parent == pid]


def _parents(stat_files: Iterable[Path]) -> Iterable[tuple[int, int]]:
    for stat in stat_files:
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        # The command name is in parentheses and may hold spaces; the parent pid follows the state.
        fields = text.rsplit(")", 1)[-1].split()
        yield int(stat.parent.name), int(fields[1])


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def main(argv: list[str]) -> int:
    """Run `argv` with PG_URL naming a throwaway server, and remove the server after: argv's exit
    code, 130 after a Ctrl-C, 2 when no server can run here."""
    if not argv:
        print("usage: python -m infra.pg_server COMMAND [ARG ...]", file=sys.stderr)
        return 2
    if reason := unavailable_reason():
        print(f"infra.pg_server: cannot start PostgreSQL: {reason}", file=sys.stderr)
        return 2
    # A SIGTERM (CI stopping the run) removes the server as a Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ThrowawayPostgres(max_connections=PASS_CONNECTIONS) as server:
        print(
            f"infra.pg_server: a throwaway PostgreSQL of {server.bin_dir} at {server.url} "
            f"(max_connections={PASS_CONNECTIONS}), removed at the end",
            flush=True,
        )
        command = subprocess.Popen(argv, env={**os.environ, URL_VARIABLE: server.url})
        try:
            return command.wait()
        except KeyboardInterrupt:  # the terminal sent it to the command too: let it finish first
            command.wait()
            return 130
        finally:
            if command.poll() is None:
                command.terminate()
                command.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
