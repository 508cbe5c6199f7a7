"""The microservice chassis: what every Django service of the system shares.

Error shape, idempotency, health endpoints, fault injection, metrics
and settings live here once. Nothing in this package knows about orders, stock or payments.
"""
