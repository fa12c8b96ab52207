"""On PostgreSQL, a trigger refuses any UPDATE of a masklet revision, so that not even a bulk
``QuerySet.update()`` can change one in place (``MaskletRevision.save`` refuses it in Python)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION masklet_revision_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'A masklet revision is never edited in place: create a new revision.'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER masklet_revision_immutable BEFORE UPDATE ON annotation_maskletrevision
    FOR EACH ROW EXECUTE FUNCTION masklet_revision_immutable();
"""
DROP = """
DROP TRIGGER IF EXISTS masklet_revision_immutable ON annotation_maskletrevision;
DROP FUNCTION IF EXISTS masklet_revision_immutable();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("annotation", "0005_revisions_restrict_so_videos_delete")]
    operations = [migrations.RunPython(create, drop)]
