from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "conflictmap.ingest"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from conflictmap.events.models import Place
        from conflictmap.territory.models import Faction

        from . import extract

        def gazetteer_changed(**kwargs) -> None:
            # This process rebuilds its automaton at once; other processes notice the change
            # through the gazetteer's version stamp within a few seconds.
            extract.invalidate()

        for model in (Place, Faction):
            post_save.connect(
                gazetteer_changed, sender=model, dispatch_uid=f"ingest-{model.__name__}-save"
            )
            post_delete.connect(
                gazetteer_changed, sender=model, dispatch_uid=f"ingest-{model.__name__}-delete"
            )
