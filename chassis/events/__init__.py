"""Integration events: recorded with the change they report, relayed to the broker, consumed once.

A service calls `services.event_record(...)` inside the transaction of the state change it reports;
the row lands in the service's own events outbox (`models.OutboxEvent`). Its publisher process
(`manage.py publish_events`, `publisher.EventPublisher`) relays the outbox to the service's topic
exchange with publisher confirms and marks an event published only once the broker confirmed it.
A consumer (`consumer.EventConsumer`, run by `consumer.consume`) hands each message of its service's
queue to the service's handler, which makes a second copy harmless (an inbox of event ids, or a key of
its own). The names and the message body are saga_contract.events'; docs/asyncapi.yaml describes
them.
"""
