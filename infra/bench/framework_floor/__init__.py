"""The framework floor: a bare Django + DRF project that runs each saga command's SQL and nothing else.

One settings module serves three processes, one per service (FLOOR_SERVICE = inventory, payment or
order), each on a database of its own. Every view validates its body with a plain DRF serializer
and, in one transaction, reads the command's idempotency record, calls the product's own service
function and inserts the completed record with the rendered answer. There is no middleware beyond
CommonMiddleware, no authentication, throttling, tracing, metrics or access log: what the product
spends beyond this floor is what its chassis costs. Only the bench runs it.
"""
