"""A small annotation platform in use, seeded through the real services: the rows every endpoint
of the permission matrix (``tests/test_permission_matrix.py``) and the schema fuzzing
(``tests/test_api_schema_fuzz.py``) act on.

The people, one per role the matrix checks:

- ``no_role``: signed in, no role; ``admin``.
- ``annotator``: holds the lease on ``task``, whose draft object ``draft`` has masks (in-progress
  work); earlier submitted ``leased``, which ``reviewer`` now holds the review lease on.
- ``other_annotator``: holds the lease on ``other_task`` (same video), draft object ``other_draft``.
- ``reviewer``: the review lease on ``leased``.
- ``author_reviewer``: both roles; authored and submitted ``submitted``, which nobody has leased
  for review yet.

And: ``project`` (phase 3, full SAM 2) with the ready ``video`` and an empty ready ``spare_video``
(their frames in storage); the active ``model_version`` (the engine's shipped weights); ``job``, a
running propagation of the annotator's; ``export``, a finished export of the admin's with its file in
storage; ``retraining_round``, queued; ``label``, the project's default label, every object's, and
``spare_label``, which no object has.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field

import numpy as np
from django.contrib.auth import get_user_model
from django.utils import timezone
from PIL import Image

from annotation.models import (
    AnnotationTask,
    Label,
    Masklet,
    ModelVersion,
    RetrainingRound,
    Review,
    VerifierVersion,
)
from annotation.services.labels import label_create, label_default
from annotation.services.masklets import masklet_create, masklet_revision_create
from annotation.services.reviews import review_next_for
from annotation.services.sessions import session_object_create
from annotation.services.tasks import task_create, task_next_for, task_submit
from dataplatform import storage
from dataplatform.models import Job, Phase, Project, Video
from dataplatform.services.users import user_set_roles, user_token
from engine import rle as rle_ops
from tests.dataplatform.conftest import password_for

WIDTH, HEIGHT, FRAMES = 64, 48, 3
# Who calls, as the matrix names them; None: no user (anonymous).
CALLERS: dict[str, tuple[str, ...] | None] = {
    "anonymous": None,
    "no_role": (),
    "annotator": ("annotator",),
    "other_annotator": ("annotator",),
    "reviewer": ("reviewer",),
    "author_reviewer": ("annotator", "reviewer"),
    "admin": ("admin",),
}
_numbers = itertools.count(1)


def box_masks(x0: int, y0: int, x1: int, y1: int) -> dict[str, dict]:
    """A filled box on every frame, as COCO RLE per frame index."""
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return {str(i): rle_ops.encode(mask) for i in range(FRAMES)}


@dataclass
class World:
    users: dict[str, object]
    project: Project
    video: Video
    spare_video: Video
    model_version: ModelVersion
    task: AnnotationTask
    other_task: AnnotationTask
    draft: Masklet
    other_draft: Masklet
    submitted: Masklet
    leased: Masklet
    job: Job
    export: Job
    retraining_round: RetrainingRound
    label: Label
    spare_label: Label
    auto_review: Review  # the verifier's automatic rejection of an automatic masklet, sampled for an audit
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def annotator(self):
        """The annotator's account (the users API acts on it)."""
        return self.users["annotator"]

    def pk(self, name: str) -> int:
        return getattr(self, name).pk


def _user(caller: str, roles: tuple[str, ...]):
    username = f"{caller.replace('_', '-')}-{next(_numbers)}"
    user = get_user_model().objects.create_user(username=username, password=password_for(username))
    if roles:
        user_set_roles(user=user, roles=roles)
    return user


def _ready_video(project: Project, name: str) -> Video:
    """A ready video whose frames (grey JPEGs) are in storage, as ingest leaves them."""
    video = Video.objects.create(
        project=project, name=name, source_uri=f"videos/{name}", status=Video.Status.READY,
        frame_count=FRAMES, width=WIDTH, height=HEIGHT, source_fps=24.0, annotation_fps=6.0, duration=0.5,
        ready_at=timezone.now(), frame_timestamps=[0.0, 0.1667, 0.3333])
    buffer = io.BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), (90, 90, 90)).save(buffer, format="JPEG")
    for index in range(FRAMES):
        storage.put_bytes(storage.frame_key(video.pk, index), buffer.getvalue())
    return video


def _leased_task(video: Video, user) -> AnnotationTask:
    task_create(video=video)
    task = task_next_for(user=user)
    assert task is not None and task.assignee_id == user.pk
    return task


def _object_with_masks(task: AnnotationTask, user, box: tuple[int, int, int, int]) -> Masklet:
    masklet = session_object_create(task=task, user=user)
    masklet_revision_create(masklet=masklet, masks=box_masks(*box), author=user, phase=task.phase,
                            edited_frames=[0])
    masklet.refresh_from_db()
    return masklet


def _submitted_by(video: Video, user, box: tuple[int, int, int, int]) -> Masklet:
    """A masklet the user made in a task of their own and submitted for verification."""
    task = _leased_task(video, user)
    masklet = _object_with_masks(task, user, box)
    task_submit(task=task, user=user)
    masklet.refresh_from_db()
    assert masklet.status == Masklet.Status.SUBMITTED
    return masklet


def _automatic_rejection(video: Video) -> Review:
    """An automatic masklet the verifier rejected (a version that is never loaded here), for an audit;
    rejected, so the dataset stays as the other rows expect it."""
    masklet = masklet_create(video=video, kind=Masklet.Kind.AUTO)
    revision = masklet_revision_create(masklet=masklet, masks=box_masks(40, 30, 60, 45), source="auto")
    version = VerifierVersion.objects.create(number=VerifierVersion.objects.count() + 1, model=b"", sha256="0" * 64,
                                             decisions=0, is_active=False)
    Masklet.objects.filter(pk=masklet.pk).update(status=Masklet.Status.REJECTED)
    return Review.objects.create(revision=revision, decision=Review.Decision.REJECT, verifier_version=version,
                                 verifier_score=0.01, reason="Scored below the auto-reject threshold.",
                                 audit_requested=True)


def world_seed() -> World:
    """Seed the world (committed or not: the caller's transaction decides)."""
    users = {caller: _user(caller, roles) for caller, roles in CALLERS.items() if roles is not None}
    number = next(_numbers)
    # A blank checkpoint key: the engine's shipped weights, so a live worker can open sessions.
    model_version = ModelVersion.objects.create(name=f"micro-matrix-{number}", config_name="micro",
                                                checkpoint_key="", is_active=True, created_by=users["admin"])
    project = Project.objects.create(name=f"Matrix {number}", phase=Phase.SAM2_FULL, model_version=model_version)
    video = _ready_video(project, f"matrix-{number}.mp4")
    spare_video = _ready_video(project, f"spare-{number}.mp4")

    # Review queue, oldest first: the annotator's masklet (the reviewer leases it), then the
    # author-reviewer's (nobody leased it).
    leased = _submitted_by(video, users["annotator"], (2, 2, 20, 20))
    assert review_next_for(user=users["reviewer"]).pk == leased.pk
    leased.refresh_from_db()
    submitted = _submitted_by(video, users["author_reviewer"], (30, 10, 50, 40))

    task = _leased_task(video, users["annotator"])
    draft = _object_with_masks(task, users["annotator"], (5, 5, 25, 25))
    other_task = _leased_task(video, users["other_annotator"])
    other_draft = _object_with_masks(other_task, users["other_annotator"], (35, 5, 60, 30))

    job = Job.objects.create(kind=Job.Kind.PROPAGATION, status=Job.Status.RUNNING, video=video,
                             created_by=users["annotator"], started_at=timezone.now())
    export = Job.objects.create(kind=Job.Kind.EXPORT, status=Job.Status.QUEUED, project=project,
                                created_by=users["admin"])
    key = storage.put_bytes(storage.export_key(export.pk, "matrix.zip"), b"PK\x05\x06" + bytes(18))
    Job.objects.filter(pk=export.pk).update(status=Job.Status.SUCCEEDED, finished_at=timezone.now(),
                                            result={"key": key, "filename": "matrix.zip", "size_bytes": 22})
    export.refresh_from_db()
    retraining_round = RetrainingRound.objects.create(base_version=model_version, created_by=users["admin"])
    label = label_default(project=project)  # every object's
    spare_label = label_create(project=project, name="spare")  # nobody's
    return World(users=users, project=project, video=video, spare_video=spare_video, model_version=model_version,
                 task=task, other_task=other_task, draft=draft, other_draft=other_draft, submitted=submitted,
                 leased=leased, job=job, export=export, retraining_round=retraining_round,
                 label=label, spare_label=spare_label,
                 auto_review=_automatic_rejection(video),
                 tokens={caller: user_token(user=user).key for caller, user in users.items()})
