"""The editorial roles as groups (territory.editorial): `editor` adds and changes events, zone
versions, zones and sources and reviews candidates; `publisher` may also publish and retract.
Neither changes factions, regions or places (they read them: the forms pick from them).
Running it again sets each group's permissions to exactly these."""

from django.db import migrations


def create_roles(apps, schema_editor):
    # The role definitions live in territory.editorial (one home; tests and a flushed test
    # database call the same function with the live registry).
    from conflictmap.territory.editorial import ensure_roles

    ensure_roles(apps)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["editor", "publisher"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("territory", "0009_publish_permission"),
        ("events", "0007_publish_permission"),
        ("ingest", "0006_importrun_size_pruned"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
