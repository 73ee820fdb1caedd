"""territory_placecover follows zone versions once per statement, not once per row.

The row trigger of 0006 ran its spatial join (or its compare and update) once for each version
a statement wrote; a move closes and opens its versions in one UPDATE and one INSERT
(territory.transfer), imports write many at once. These statement triggers do the same work
over the statement's transition tables, in one join each, with the same rules:
- inserted versions: their covers found by one spatial join with events_place (GiST);
- updated: where the geometry is the same (byte for byte) the covers follow the faction,
  period, status and confidence; where it changed, the covers are found again;
- deleted: their covers deleted.
The places' row trigger and the TRUNCATE triggers are unchanged.
"""

from django.db import migrations

COLUMNS = "(place_id, version_id, faction_id, period, status, confidence)"

FORWARD = f"""
DROP TRIGGER placecover_version ON territory_zoneversion;
DROP FUNCTION territory_placecover_version();

CREATE FUNCTION territory_placecover_versions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO territory_placecover {COLUMNS}
    SELECT p.id, n.id, n.faction_id, n.period, n.status, n.confidence
    FROM new_versions n JOIN events_place p ON p.geom && n.geom AND ST_Intersects(n.geom, p.geom);
    RETURN NULL;
END $$;

CREATE FUNCTION territory_placecover_versions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The same shape: the covers follow what else changed.
    UPDATE territory_placecover c
       SET faction_id = n.faction_id, period = n.period, status = n.status,
           confidence = n.confidence
      FROM new_versions n JOIN old_versions o ON o.id = n.id
     WHERE c.version_id = n.id AND ST_AsEWKB(n.geom) = ST_AsEWKB(o.geom)
       AND (n.faction_id, n.period, n.status, n.confidence)
           IS DISTINCT FROM (o.faction_id, o.period, o.status, o.confidence);
    -- A new shape (or a new id): the covers found again.
    DELETE FROM territory_placecover c
     USING old_versions o LEFT JOIN new_versions n ON n.id = o.id
     WHERE c.version_id = o.id AND (n.id IS NULL OR ST_AsEWKB(n.geom) <> ST_AsEWKB(o.geom));
    INSERT INTO territory_placecover {COLUMNS}
    SELECT p.id, n.id, n.faction_id, n.period, n.status, n.confidence
    FROM new_versions n LEFT JOIN old_versions o ON o.id = n.id
    JOIN events_place p ON p.geom && n.geom AND ST_Intersects(n.geom, p.geom)
    WHERE o.id IS NULL OR ST_AsEWKB(n.geom) <> ST_AsEWKB(o.geom);
    RETURN NULL;
END $$;

CREATE FUNCTION territory_placecover_versions_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM territory_placecover c USING old_versions o WHERE c.version_id = o.id;
    RETURN NULL;
END $$;

CREATE TRIGGER placecover_versions_inserted AFTER INSERT ON territory_zoneversion
    REFERENCING NEW TABLE AS new_versions
    FOR EACH STATEMENT EXECUTE FUNCTION territory_placecover_versions_inserted();
CREATE TRIGGER placecover_versions_updated AFTER UPDATE ON territory_zoneversion
    REFERENCING OLD TABLE AS old_versions NEW TABLE AS new_versions
    FOR EACH STATEMENT EXECUTE FUNCTION territory_placecover_versions_updated();
CREATE TRIGGER placecover_versions_deleted AFTER DELETE ON territory_zoneversion
    REFERENCING OLD TABLE AS old_versions
    FOR EACH STATEMENT EXECUTE FUNCTION territory_placecover_versions_deleted();
"""

# The row trigger of 0006, as it was.
REVERSE = f"""
DROP TRIGGER placecover_versions_inserted ON territory_zoneversion;
DROP TRIGGER placecover_versions_updated ON territory_zoneversion;
DROP TRIGGER placecover_versions_deleted ON territory_zoneversion;
DROP FUNCTION territory_placecover_versions_inserted();
DROP FUNCTION territory_placecover_versions_updated();
DROP FUNCTION territory_placecover_versions_deleted();

CREATE FUNCTION territory_placecover_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM territory_placecover WHERE version_id = OLD.id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id
       AND ST_AsEWKB(NEW.geom) = ST_AsEWKB(OLD.geom) THEN
        IF (NEW.faction_id, NEW.period, NEW.status, NEW.confidence)
           IS DISTINCT FROM (OLD.faction_id, OLD.period, OLD.status, OLD.confidence) THEN
            UPDATE territory_placecover
               SET faction_id = NEW.faction_id, period = NEW.period, status = NEW.status,
                   confidence = NEW.confidence
             WHERE version_id = NEW.id;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM territory_placecover WHERE version_id = OLD.id;
    END IF;
    INSERT INTO territory_placecover {COLUMNS}
    SELECT p.id, NEW.id, NEW.faction_id, NEW.period, NEW.status, NEW.confidence
    FROM events_place p
    WHERE p.geom && NEW.geom AND ST_Intersects(NEW.geom, p.geom);
    RETURN NULL;
END $$;

CREATE TRIGGER placecover_version AFTER INSERT OR UPDATE OR DELETE ON territory_zoneversion
    FOR EACH ROW EXECUTE FUNCTION territory_placecover_version();
"""


class Migration(migrations.Migration):
    dependencies = [("territory", "0011_place_cover_indexes")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
