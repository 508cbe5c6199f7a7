"""The order saga's orchestrator: the OrderSaga workflow, its activities, the HTTP client layer
and the worker entry point.

It reaches the services over HTTP only and never imports their Django code.
"""
