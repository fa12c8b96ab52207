"""The labels migration: masklets made before labels existed get their project's default label."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("annotation", "0010_modelversion_checkpoint_status_and_validation")]
AFTER = [("annotation", "0011_labels")]


@pytest.mark.django_db(transaction=True)
def test_existing_masklets_migrate_to_a_default_label() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        Project, Video, Masklet = (old.get_model("dataplatform", "Project"), old.get_model("dataplatform", "Video"),
                                   old.get_model("annotation", "Masklet"))
        with_work, empty = Project.objects.create(name="Before labels"), Project.objects.create(name="Empty")
        video = Video.objects.create(project=with_work, name="old.mp4", source_uri="videos/old.mp4")
        for number in (0, 1):
            Masklet.objects.create(video=video, object_number=number)

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        Label, Masklet = new.get_model("annotation", "Label"), new.get_model("annotation", "Masklet")
        assert [(m.object_number, m.label.name, m.label.project_id) for m in
                Masklet.objects.select_related("label").order_by("object_number")] == [
            (0, "object", with_work.pk), (1, "object", with_work.pk)]
        assert Label.objects.filter(project_id=empty.pk).count() == 1
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
