from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "chassis.events"
    label = "events"
    verbose_name = "Integration events"
