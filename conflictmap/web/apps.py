from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "conflictmap.web"

    def ready(self) -> None:
        from conflictmap.web import checks  # noqa: F401  (registers the deployment checks)
