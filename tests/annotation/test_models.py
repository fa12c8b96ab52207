"""The annotation rows' consistency constraints hold in PostgreSQL itself, whatever the code does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import (
    AnnotationTask,
    Masklet,
    MaskletRevision,
    ModelVersion,
    RetrainingRound,
    Review,
)
from annotation.models.masklets import ImmutableRowError
from annotation.services.labels import label_default

pytestmark = pytest.mark.django_db


def violates(constraint: str):
    return pytest.raises(IntegrityError, match=constraint)


def in_savepoint(write) -> None:
    with transaction.atomic():
        write()


def new_masklet(*, video, **fields) -> Masklet:
    """A masklet row made directly (not through the services), with its project's default label."""
    return Masklet.objects.create(video=video, label=label_default(project=video.project_id), **fields)


def soon():
    return timezone.now() + timedelta(minutes=10)


# ---- Masklets and revisions ----------------------------------------------------------------------


def test_object_numbers_are_unique_per_video(ready_video, video_factory):
    new_masklet(video=ready_video, object_number=0)
    with violates("masklet_unique_object_per_video"):
        in_savepoint(lambda: new_masklet(video=ready_video, object_number=0))
    new_masklet(video=video_factory(ready=True), object_number=0)  # another video: fine


def test_review_lease_is_complete(ready_video, reviewer):
    with violates("masklet_review_lease_complete"):
        in_savepoint(lambda: new_masklet(video=ready_video, object_number=1, review_assignee=reviewer))
    with violates("masklet_review_lease_complete"):
        in_savepoint(lambda: new_masklet(video=ready_video, object_number=2,
                                                    review_lease_expires_at=soon()))
    new_masklet(video=ready_video, object_number=3, review_assignee=reviewer,
                           review_lease_expires_at=soon())


@pytest.mark.parametrize("status", ["submitted", "accepted", "rejected"])
def test_a_decided_masklet_has_a_revision(ready_video, status):
    with violates("masklet_decided_has_revision"):
        in_savepoint(lambda: new_masklet(video=ready_video, object_number=0, status=status))


def test_a_revision_is_never_edited_in_place(ready_video, masklet_factory):
    masklet = masklet_factory(ready_video)
    revision = masklet.current_revision
    revision.edited_frames = [0]
    with pytest.raises(ImmutableRowError):
        revision.save()
    revision.refresh_from_db()
    assert revision.edited_frames == []
    assert MaskletRevision.objects.filter(masklet=masklet).count() == 1


def test_not_even_a_bulk_update_edits_a_revision(ready_video, masklet_factory):
    masklet = masklet_factory(ready_video)
    with pytest.raises(IntegrityError, match="never edited in place"):
        in_savepoint(lambda: MaskletRevision.objects.filter(masklet=masklet).update(edited_frames=[0]))
    assert masklet.current_revision.__class__.objects.get(pk=masklet.current_revision_id).edited_frames == []


def test_revision_numbers_are_unique_and_positive(ready_video, masklet_factory):
    masklet = masklet_factory(ready_video)
    masks = masklet.current_revision.masks
    with violates("revision_unique_number"):
        in_savepoint(lambda: MaskletRevision.objects.create(masklet=masklet, number=1, masks=masks))
    with violates("revision_number_positive"):
        in_savepoint(lambda: MaskletRevision.objects.create(masklet=masklet, number=0, masks=masks))
    with violates("revision_phase_valid"):
        in_savepoint(lambda: MaskletRevision.objects.create(masklet=masklet, number=2, phase=4, masks=masks))


# ---- Reviews ---------------------------------------------------------------------------------------


def test_one_decision_per_revision(ready_video, masklet_factory, user_factory):
    revision = masklet_factory(ready_video).current_revision
    first, second = user_factory("reviewer"), user_factory("reviewer")
    Review.objects.create(revision=revision, reviewer=first, decision=Review.Decision.ACCEPT)
    with violates("review_one_decision_per_revision"):
        in_savepoint(lambda: Review.objects.create(revision=revision, reviewer=second,
                                                   decision=Review.Decision.REJECT, reason="Leaks."))


def test_a_reject_needs_a_reason(ready_video, masklet_factory, reviewer):
    revision = masklet_factory(ready_video).current_revision
    with violates("review_reject_has_reason"):
        in_savepoint(lambda: Review.objects.create(revision=revision, reviewer=reviewer,
                                                   decision=Review.Decision.REJECT))
    Review.objects.create(revision=revision, reviewer=reviewer, decision=Review.Decision.REJECT, reason="Leaks.")


# ---- Tasks -----------------------------------------------------------------------------------------


def test_a_task_phase_is_1_to_3(ready_video):
    with violates("task_phase_valid"):
        in_savepoint(lambda: AnnotationTask.objects.create(video=ready_video, phase=0))


def test_a_leased_task_has_a_holder_and_an_expiry(ready_video, annotator):
    with violates("task_lease_complete"):
        in_savepoint(lambda: AnnotationTask.objects.create(video=ready_video, phase=3, status="leased",
                                                           lease_expires_at=soon()))
    with violates("task_lease_complete"):
        in_savepoint(lambda: AnnotationTask.objects.create(video=ready_video, phase=3, status="leased",
                                                           assignee=annotator))
    AnnotationTask.objects.create(video=ready_video, phase=3, status="leased", assignee=annotator,
                                  lease_expires_at=soon())


def test_a_queued_task_is_not_leased(ready_video):
    with violates("task_queued_not_leased"):
        in_savepoint(lambda: AnnotationTask.objects.create(video=ready_video, phase=3, lease_expires_at=soon()))


def test_a_refinement_task_names_its_masklet(ready_video, masklet_factory):
    with violates("task_refine_has_masklet"):
        in_savepoint(lambda: AnnotationTask.objects.create(video=ready_video, phase=3, kind="refine"))
    AnnotationTask.objects.create(video=ready_video, phase=3, kind="refine", masklet=masklet_factory(ready_video))


# ---- Model versions and retraining -----------------------------------------------------------------


def test_one_active_model_version():
    ModelVersion.objects.create(name="a", config_name="micro", is_active=True)
    ModelVersion.objects.create(name="b", config_name="micro")  # inactive ones: any number
    ModelVersion.objects.create(name="c", config_name="micro")
    with violates("modelversion_one_active"):
        in_savepoint(lambda: ModelVersion.objects.filter(name="b").update(is_active=True))
    with violates("modelversion_one_active"):
        in_savepoint(lambda: ModelVersion.objects.create(name="d", config_name="micro", is_active=True))


def test_model_version_names_are_unique():
    ModelVersion.objects.create(name="a", config_name="micro")
    with violates("name"):
        in_savepoint(lambda: ModelVersion.objects.create(name="a", config_name="micro"))


def test_a_succeeded_round_has_its_version():
    base = ModelVersion.objects.create(name="base", config_name="micro")
    with violates("round_succeeded_has_version"):
        in_savepoint(lambda: RetrainingRound.objects.create(base_version=base, status="succeeded"))
    made = ModelVersion.objects.create(name="made", config_name="micro", parent=base)
    RetrainingRound.objects.create(base_version=base, status="succeeded", resulting_version=made,
                                   finished_at=timezone.now())


# ---- Deleting annotated videos ---------------------------------------------------------------------


def test_deleting_an_annotated_video_takes_its_masklets(ready_video, masklet_factory, reviewer):
    masklet = masklet_factory(ready_video)
    masklet_factory(ready_video, masklet=masklet)  # a second revision, child of the first
    Review.objects.create(revision=masklet.current_revision, reviewer=reviewer, decision="accept")
    ready_video.delete()
    assert not Masklet.objects.filter(pk=masklet.pk).exists()
    assert not MaskletRevision.objects.filter(masklet_id=masklet.pk).exists()
