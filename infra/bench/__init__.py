"""`sagactl bench`: what the saga costs, measured against the floor of the machine it runs on.

The floor is the real OrderSaga workflow, same commands, timeouts and retry policies, served by a
worker of its own whose activities do nothing; the product is real orders through order_svc's REST
API. Both run in one stack, on one Temporal server, one concurrency level after another. Figures,
never assertions: the targets are ratios printed beside them.
"""
