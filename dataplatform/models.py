"""The platform's core rows: projects, videos and the jobs that do long work on them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Phase(models.IntegerChoices):
    """The data engine's three phases (SAM 2 paper, Table 1)."""

    SAM_PER_FRAME = 1, "Phase 1: SAM on every frame"
    SAM2_MASK = 2, "Phase 2: SAM + SAM 2 Mask propagation"
    SAM2_FULL = 3, "Phase 3: full SAM 2"


def default_annotation_fps() -> float:
    return settings.ANNOTATION_FPS


class Project(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    phase = models.PositiveSmallIntegerField(choices=Phase.choices, default=Phase.SAM2_FULL,
                                             help_text="The phase of new annotation tasks.")
    annotation_fps = models.FloatField(default=default_annotation_fps,
                                       validators=[MinValueValidator(0.1), MaxValueValidator(120)],
                                       help_text="Frames per second sampled for annotation.")
    model_version = models.ForeignKey("annotation.ModelVersion", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+",
                                      help_text="The model in the loop; empty: the active version.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(phase__in=[1, 2, 3]), name="project_phase_valid"),
            models.CheckConstraint(condition=Q(annotation_fps__gt=0), name="project_annotation_fps_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Video(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded"
        INGESTING = "ingesting"
        READY = "ready"
        FAILED = "failed"

    class SourceKind(models.TextChoices):
        UPLOAD = "upload"
        URI = "uri"

    class Split(models.TextChoices):
        UNASSIGNED = "unassigned"
        TRAIN = "train"
        VAL = "val"
        TEST = "test"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="videos")
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED, db_index=True)
    status_message = models.TextField(blank=True, help_text="Why ingest failed, in words a person can act on.")
    source_kind = models.CharField(max_length=8, choices=SourceKind.choices, default=SourceKind.UPLOAD)
    source_uri = models.CharField(max_length=1024, help_text="Storage key of the upload, or the registered URI.")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    # Filled in by ingest.
    source_fps = models.FloatField(null=True, blank=True)
    source_frame_count = models.PositiveIntegerField(null=True, blank=True)
    annotation_fps = models.FloatField(null=True, blank=True)
    frame_count = models.PositiveIntegerField(default=0, help_text="Annotated (sampled) frames.")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    frame_timestamps = models.JSONField(default=list, blank=True,
                                        help_text="Source timestamp (s) of each annotated frame.")
    thumbnail_key = models.CharField(max_length=1024, blank=True)
    split = models.CharField(max_length=16, choices=Split.choices, default=Split.UNASSIGNED, db_index=True)
    metadata = models.JSONField(default=dict, blank=True,
                                help_text="Carried dataset fields, e.g. an imported SA-V video's id and environment.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status"])]
        constraints = [
            # A video is shown as ready only when everything ingest records is there.
            models.CheckConstraint(
                # NULL > 0 is not false in SQL, so the NULL checks are spelled out.
                condition=~Q(status="ready") | (
                    Q(frame_count__gt=0) & Q(width__isnull=False, width__gt=0)
                    & Q(height__isnull=False, height__gt=0)
                    & Q(source_fps__isnull=False, source_fps__gt=0) & Q(ready_at__isnull=False)),
                name="video_ready_is_complete",
            ),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(status_message=""),
                                   name="video_failed_has_message"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class Job(models.Model):
    """Any long work. Tasks claim their Job with a conditional update (queued → running)."""

    class Kind(models.TextChoices):
        INGEST = "ingest"
        PROPAGATION = "propagation"
        AUTO_MASKLETS = "auto_masklets"
        EXPORT = "export"
        IMPORT = "import"
        RETRAINING = "retraining"
        MODEL_VALIDATION = "model_validation"
        MODEL_EVALUATION = "model_evaluation"
        VERIFIER_TRAINING = "verifier_training"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, help_text="The error of a failed job, or a note on its result.")
    celery_task_id = models.CharField(max_length=255, blank=True)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(progress_done__lte=models.F("progress_total")) | Q(progress_total=0),
                                   name="job_progress_within_total"),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(message=""), name="job_failed_has_message"),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running"], finished_at__isnull=True)
                | Q(status__in=["succeeded", "failed", "cancelled"], finished_at__isnull=False),
                name="job_finished_iff_terminal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status not in self.ACTIVE
