"""The demo catalog, customer accounts and users that `sagactl seed` loads, chosen so that every saga outcome
can be shown by hand (DEMO_ORDERS). The one place demo data is defined; it goes in only over REST.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from infra.rest import ApiError, JsonObject, RestClient


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    price_cents: int
    on_hand: int


@dataclass(frozen=True)
class DemoCustomer:
    customer_id: str
    balance_cents: int


@dataclass(frozen=True)
class DemoUser:
    """A user of identity_svc's, to sign in as: each demo customer, and an operator."""

    subject: str
    email: str
    password: str
    role: str = "customer"


PRODUCTS = (
    DemoProduct("BEANS-1KG", "Espresso beans, 1 kg", 2490, 50),
    DemoProduct("MUG-CERAMIC", "Ceramic mug", 1200, 30),
    DemoProduct("GRINDER-HAND", "Hand coffee grinder", 5900, 10),
    DemoProduct("FILTER-100", "Paper filters, pack of 100", 450, 200),
    DemoProduct("KETTLE-GOOSENECK", "Gooseneck kettle", 7900, 0),  # always out of stock
)

CUSTOMERS = (
    DemoCustomer("alice", 50_000),
    DemoCustomer("bob", 20_000),
    DemoCustomer("carol", 300),  # $3.00: any real order is declined
)

DEMO_EMAIL_DOMAIN = "shop.example"
# Development only: `sagactl seed` goes through the development token path, which production refuses.
USERS = (
    *(
        DemoUser(c.customer_id, f"{c.customer_id}@{DEMO_EMAIL_DOMAIN}", f"{c.customer_id}-saga-demo")
        for c in CUSTOMERS
    ),
    DemoUser("operator", f"operator@{DEMO_EMAIL_DOMAIN}", "operator-saga-demo", role="operator"),
)

# (outcome it shows, arguments of `sagactl order place`)
DEMO_ORDERS = (
    ("CONFIRMED", "--customer alice --item BEANS-1KG:2 --item MUG-CERAMIC:1 --wait"),
    ("CANCELLED out_of_stock", "--customer alice --item KETTLE-GOOSENECK:1 --wait"),
    ("CANCELLED payment_declined", "--customer carol --item GRINDER-HAND:1 --wait"),
    ("CANCELLED unknown_sku", "--customer bob --item NO-SUCH-SKU:1 --wait"),
)

CREATED = "created"
ALREADY_PRESENT = "already present"


def seed(
    *, inventory: RestClient, payment: RestClient, identity: RestClient
) -> list[tuple[DemoProduct | DemoCustomer | DemoUser, str]]:
    """Create every demo product, account and user that is not there yet; each with its outcome
    (CREATED or ALREADY_PRESENT). Safe to run any number of times. Accounts come before users: a
    customer's registration opens an account with the signup credit only where there is none."""
    outcomes: list[tuple[DemoProduct | DemoCustomer | DemoUser, str]] = []
    for product in PRODUCTS:
        outcome = _create(
            inventory, "/api/v1/products", asdict(product), f"seed-product-{product.sku}", "product_exists"
        )
        outcomes.append((product, outcome))
    for customer in CUSTOMERS:
        outcome = _create(
            payment,
            "/api/v1/accounts",
            asdict(customer),
            f"seed-account-{customer.customer_id}",
            "account_exists",
        )
        outcomes.append((customer, outcome))
    for user in USERS:
        outcome = _create(identity, "/api/v1/users", asdict(user), f"seed-user-{user.subject}", "user_exists")
        outcomes.append((user, outcome))
    return outcomes


def _create(client: RestClient, path: str, body: JsonObject, key: str, exists_code: str) -> str:
    # The key carries a digest of the body, so edited demo data is a new request (answered 409
    # "exists"), never a reused key with a different body (422).
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    response = client.post(path, body, key=f"{key}-{digest}")
    try:
        client.check(response)
    except ApiError as error:
        if error.code == exists_code:
            return ALREADY_PRESENT
        raise
    return ALREADY_PRESENT if response.headers.get("Idempotent-Replayed") == "true" else CREATED
