"""What every process of the system shares to be watched: one JSON log line schema, tracing with
OpenTelemetry (to an OTLP collector, or to JSON files in the embedded default) and reading those
files back. No Django here: the services, the relay, the worker and sagactl all use it.
"""
