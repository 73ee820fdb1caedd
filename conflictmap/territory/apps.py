from django.apps import AppConfig


class TerritoryConfig(AppConfig):
    name = "conflictmap.territory"
