"""The servers of the bench's commands phase: three Django services under gunicorn (and identity_svc,
whose keys the product's verify tokens with), migrated, seeded
and served on databases of their own, either a second set of the product's services or the
framework floor (infra/bench/framework_floor).

The product's set is the services as `sagactl up` runs them (settings, middleware, tokens), with no
relay and no worker: an order placed there starts no saga. The floor's processes take the product's
gunicorn command line (infra.stack's `django_service`: workers, threads, gunicorn settings) with the
floor's WSGI application in place of the service's, and the product's environment (database
settings included) with the floor's settings module. On PostgreSQL each service's database is
created before the migrations and dropped at the end.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from infra.databases import drop_databases, ensure_databases
from infra.stack import SERVICES, ManagedProcess, StackConfig, StackError, answers_200
from infra.stack.config import IDENTITY_SERVICE
from infra.stack.processes import django_service, service_migration

PRODUCT_APPLICATION = "config.wsgi:application"
FLOOR_APPLICATION = "infra.bench.framework_floor.wsgi:application"
FLOOR_SETTINGS = "infra.bench.framework_floor.settings"

# Run in each service's Django (`django shell`) with SKUS, CUSTOMERS and STOCK in its globals.
_SEED = {
    "inventory_svc": """
        from inventory.services import product_create
        for sku in SKUS:
            product_create(sku=sku, name=f"Bench {sku}", price_cents=PRICE_CENTS, on_hand=STOCK)
    """,
    "payment_svc": """
        from payments.services import account_create
        for customer in CUSTOMERS:
            account_create(customer_id=customer, balance_cents=10**12)
    """,
}


class ServiceSet:
    """The three services of one side of the commands phase on `config`'s ports, var_dir and databases."""

    def __init__(self, config: StackConfig, *, floor: bool) -> None:
        self.config = config
        self.floor = floor
        # The product's services verify tokens against identity_svc's keys, so its side runs one too.
        self.services = SERVICES if floor else (IDENTITY_SERVICE, *SERVICES)
        self.processes = {service: self._server(service) for service in self.services}

    @property
    def name(self) -> str:
        return "floor" if self.floor else "product"

    def url(self, service: str) -> str:
        return self.config.service_url(service)

    def group(self, service: str) -> int:
        """The process group id of `service`'s gunicorn (master and workers)."""
        pid = self.processes[service].pid
        if pid is None:
            raise StackError(f"{self.name} {service} is not running")
        return pid

    def database(self, service: str) -> str | None:
        """The name of `service`'s PostgreSQL database; None on SQLite."""
        url = self.config.database_urls.get(service)
        return url.rsplit("/", 1)[1] if url else None

    def start(self) -> None:
        """Create the databases (PostgreSQL), migrate them, start the three servers and wait until
        each is ready; what started is stopped again on failure."""
        try:
            ensure_databases(self.config.own_databases())
            for service in self.services:
                self.django(service, "migrate", "--noinput")
            for process in self.processes.values():
                process.start()
            for process in self.processes.values():
                process.wait_ready(self.config.startup_timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        if self.config.drop_databases:
            drop_databases(self.config.own_databases())

    def seed(self, *, skus: list[str], customers: list[str], stock: int, price_cents: int) -> None:
        """Products with `stock` units each and rich accounts, written through each service's own
        functions (the floor has no operator API)."""
        names = f"SKUS = {skus!r}\nCUSTOMERS = {customers!r}\nSTOCK = {stock}\nPRICE_CENTS = {price_cents}\n"
        for service, code in _SEED.items():
            self.django(service, "shell", "--verbosity", "0", "--command", names + textwrap.dedent(code))

    def django(self, service: str, *args: str) -> str:
        """Run `django-admin args` in `service`'s Django on this side; its standard output."""
        return self.run_module(service, "django", *args)

    def run_module(self, service: str, module: str, *args: str, stdin: str | None = None) -> str:
        """Run `python -m module args` in `service`'s Django on this side (its settings, environment,
        working directory and database); its standard output. StackError when it fails."""
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=self._cwd(service),
            env=self._env(service),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise StackError(
                f"{self.name} {service}: {module} {' '.join(args[:1])} failed:\n{done.stderr[-3000:]}"
            )
        return done.stdout

    def _cwd(self, service: str) -> Path:
        return self.config.root if self.floor else self.config.root / service

    def _env(self, service: str) -> dict[str, str]:
        env = service_migration(self.config, service).env  # the product's environment for its Django
        if self.floor:
            env |= {
                "DJANGO_SETTINGS_MODULE": FLOOR_SETTINGS,
                "FLOOR_SERVICE": service.removesuffix("_svc"),
                "OTEL_SDK_DISABLED": "true",
            }
        return env

    def _server(self, service: str) -> ManagedProcess:
        product = django_service(self.config, service)
        if not self.floor:
            return product
        if PRODUCT_APPLICATION not in product.argv:
            raise StackError(f"the product's gunicorn command names no {PRODUCT_APPLICATION}: {product.argv}")
        url = self.url(service)
        return ManagedProcess(
            f"floor {service}",
            [FLOOR_APPLICATION if arg == PRODUCT_APPLICATION else arg for arg in product.argv],
            cwd=self._cwd(service),
            env=self._env(service),
            log_path=self.config.log_dir / f"floor_{service}.log",
            ready=lambda: answers_200(f"{url}/readyz"),
        )
