"""Register the saga's custom search attributes on a Temporal namespace:
``python -m orchestrator.search_attributes`` (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE), once per
cluster before the first worker starts. Attributes already there are left alone, so it can run on
every deployment. (`sagactl up` gives them to the dev server with --search-attribute instead.)
"""

import asyncio
import os
import sys

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from observability.tracing import temporal_tracing_plugins
from orchestrator.config import load_temporal_target
from saga_contract import SEARCH_ATTRIBUTE_TYPES


async def register(client: Client, namespace: str) -> list[str]:
    """Add every attribute of SEARCH_ATTRIBUTE_TYPES the namespace lacks; the names added. Those
    already there are skipped: as listed by the server, or refused by it as existing (a server that
    cannot list them, like the time-skipping test server)."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as error:
        if error.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    added = []
    for name, kind in SEARCH_ATTRIBUTE_TYPES.items():
        if name in existing:
            continue
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=namespace,
                    search_attributes={name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")},
                )
            )
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS:
                raise
            continue
        added.append(name)
    return sorted(added)


async def _main() -> None:
    address, namespace = load_temporal_target()
    client = await Client.connect(address, namespace=namespace, plugins=temporal_tracing_plugins())
    added = await register(client, namespace)
    print(f"search attributes on {namespace!r}: added {', '.join(added) or 'none (all there)'}", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(_main())
    except Exception as error:  # one line for the operator; temporalio can crash at exit, so leave now
        print(f"could not register the search attributes: {error}", file=sys.stderr, flush=True)
        os._exit(1)
    os._exit(0)
