"""Review comments: a reviewer's notes pinned to frames of the revision under review.

A reviewer writes them while reviewing (holding the masklet's review lease, as for a decision)
or with the decision itself; the decision then carries every note of its revision. The annotator
of the rework task a rejection creates sees them on the frames they name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction

from annotation.models import Masklet, Review, ReviewComment
from dataplatform.errors import ApplicationError
from dataplatform.models import Video

MAX_COMMENT_LENGTH = 1000
MAX_COMMENTS_PER_REVISION = 100


def _checked(*, video: Video, frame_index, text) -> tuple[int, str]:
    if isinstance(frame_index, bool) or not isinstance(frame_index, int) or not 0 <= frame_index < video.frame_count:
        raise ApplicationError(f"A comment's frame must be a frame of the video (0–{video.frame_count - 1}), "
                               f"got {frame_index!r}.", {"field": "frame_index"})
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text:
        raise ApplicationError("A comment needs a text: what is wrong on that frame.", {"field": "text"})
    if len(text) > MAX_COMMENT_LENGTH:
        raise ApplicationError(f"A comment is longer than {MAX_COMMENT_LENGTH} characters.", {"field": "text"})
    return frame_index, text


def _check_room(*, revision_id: int, adding: int) -> None:
    if ReviewComment.objects.filter(revision_id=revision_id).count() + adding > MAX_COMMENTS_PER_REVISION:
        raise ApplicationError(f"A revision takes at most {MAX_COMMENTS_PER_REVISION} comments.")


def review_comment_create(*, masklet: Masklet, user, revision_id: int, frame_index: int, text: str) -> ReviewComment:
    """A note on a frame of the revision ``user`` is reviewing (its lease held, as for a decision)."""
    from annotation.services.reviews import review_lock_for_decision

    with transaction.atomic():
        locked, _ = review_lock_for_decision(masklet=masklet, user=user, revision_id=revision_id)
        frame, text = _checked(video=Video.objects.get(pk=locked.video_id), frame_index=frame_index, text=text)
        _check_room(revision_id=revision_id, adding=1)
        return ReviewComment.objects.create(masklet=locked, revision_id=revision_id, author=user,
                                            frame_index=frame, text=text)


def review_comments_attach(*, masklet: Masklet, review: Review, user, comments: Sequence[Mapping]) -> None:
    """With a decision (inside its transaction): its new notes, and the revision's notes made
    while reviewing, become the decision's."""
    video = Video.objects.get(pk=masklet.video_id)
    checked = [_checked(video=video, frame_index=c.get("frame_index"), text=c.get("text")) for c in comments]
    _check_room(revision_id=review.revision_id, adding=len(checked))
    ReviewComment.objects.filter(revision_id=review.revision_id, review__isnull=True).update(review=review)
    ReviewComment.objects.bulk_create([
        ReviewComment(masklet=masklet, revision_id=review.revision_id, review=review, author=user,
                      frame_index=frame, text=text) for frame, text in checked])
