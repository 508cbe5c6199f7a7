"""`sagactl bench`: what the saga costs, measured against the floors of the machine it runs on.

The Temporal floor is the real OrderSaga workflow, same commands, timeouts and retry policies,
served by a worker of its own whose activities do nothing; the product is real orders through
order_svc's REST API. Both run in one stack, on one Temporal server, one concurrency level after
another. After each level the commands phase sends every saga command in batches to a second set
of the product's services and to the framework floor (framework_floor/: bare Django + DRF running
the same SQL statements), to show what the chassis costs per request. Figures, never assertions:
the targets are ratios printed beside them.
"""
