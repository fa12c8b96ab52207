"""Input and output serializers of the queue API: annotation tasks, verification, metrics."""

from __future__ import annotations

from rest_framework import serializers

from annotation.api.labels import LabelRefSerializer
from annotation.models import AnnotationTask, Masklet, MaskletRevision, Review, ReviewComment, VerifierScore
from annotation.selectors.metrics import GROUP_BYS
from annotation.services.review_comments import MAX_COMMENT_LENGTH, MAX_COMMENTS_PER_REVISION
from annotation.services.reviews import MAX_REASON_LENGTH, NO_REASON
from annotation.services.tasks import MAX_TASKS_PER_CALL
from dataplatform.api.base import MAX_ID
from dataplatform.models import Phase

# ---- Tasks -------------------------------------------------------------------------------------


class TaskSerializer(serializers.ModelSerializer):
    video_name = serializers.CharField(source="video.name", read_only=True)
    project = serializers.IntegerField(source="video.project_id", read_only=True)
    frame_count = serializers.IntegerField(source="video.frame_count", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                            help_text="Who holds the lease, or whom a queued task is kept for.")
    masklet_object_number = serializers.IntegerField(source="masklet.object_number", read_only=True,
                                                     allow_null=True, default=None,
                                                     help_text="A refinement task's object, by its number.")
    masklet_label = LabelRefSerializer(source="masklet.label", read_only=True, allow_null=True, default=None,
                                       help_text="A refinement task's object's label.")

    class Meta:
        model = AnnotationTask
        fields = ["id", "kind", "phase", "status", "priority", "project", "video", "video_name", "frame_count",
                  "masklet", "masklet_object_number", "masklet_label", "assignee", "lease_expires_at", "heartbeat_at", "model_version", "created_at",
                  "submitted_at"]
        read_only_fields = fields


class TaskNextSerializer(serializers.Serializer):
    project = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                       help_text="Only tasks of this project.")
    phase = serializers.ChoiceField(choices=Phase.choices, required=False, help_text="Only tasks of this phase.")


class TaskCreateSerializer(serializers.Serializer):
    video = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A ready video.")
    count = serializers.IntegerField(min_value=1, max_value=MAX_TASKS_PER_CALL, default=1)
    priority = serializers.IntegerField(min_value=-1000, max_value=1000, default=0, help_text="Higher first.")


class TaskAdminUpdateSerializer(serializers.Serializer):
    priority = serializers.IntegerField(min_value=-1000, max_value=1000, required=False, help_text="Higher first.")
    assignee = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True,
                                        help_text="Keep this queued task for one annotator (a user id); "
                                                  "null: open to anyone.")


class TaskFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AnnotationTask.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=AnnotationTask.Kind.choices, required=False)
    phase = serializers.ChoiceField(choices=Phase.choices, required=False)
    project = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    video = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    assignee = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="A user id.")


class TaskSubmitSerializer(serializers.Serializer):
    masklets = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=1000,
        help_text="The masklets done in this task. Default: a refinement task's masklet, or your draft "
                  "masklets in the task's video.")
    client_timestamp = serializers.DateTimeField(required=False,
                                                 help_text="When the annotator pressed submit (the metrics use it).")


# ---- Verification ------------------------------------------------------------------------------


class ReviewNextSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Masklet.Kind.choices, required=False)
    order = serializers.ChoiceField(choices=["oldest", "uncertain"], default="oldest",
                                    help_text="oldest first, or the verifier's least certain first.")
    project = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    video = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class RevisionSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                          help_text="Empty for automatic masklets and imports.")
    masks = serializers.JSONField(help_text='{"<frame index>": COCO RLE {"size": [H, W], "counts": str}}, '
                                            "every annotated frame; absent objects are empty masks.")
    edited_frames = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        model = MaskletRevision
        fields = ["id", "number", "author", "phase", "model_version", "source", "edited_frames", "stability_scores",
                  "masks", "created_at"]
        read_only_fields = fields


class MaskletDetailSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="video.project_id", read_only=True)
    review_assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                                   help_text="The reviewer holding the review lease, if any.")
    current_revision = RevisionSerializer(read_only=True, allow_null=True)
    label = LabelRefSerializer(read_only=True)
    verifier_score = serializers.SerializerMethodField(
        help_text="The active verifier's score of the current revision (probability a reviewer accepts it).")

    class Meta:
        model = Masklet
        fields = ["id", "project", "video", "object_number", "label", "kind", "status", "review_assignee",
                  "review_lease_expires_at", "current_revision", "verifier_score", "created_at", "updated_at"]
        read_only_fields = fields

    def get_verifier_score(self, masklet: Masklet) -> float | None:
        score = VerifierScore.objects.filter(revision_id=masklet.current_revision_id, version__is_active=True).first()
        return None if score is None else score.score


class CommentInSerializer(serializers.Serializer):
    frame_index = serializers.IntegerField(min_value=0, max_value=MAX_ID)
    text = serializers.CharField(max_length=MAX_COMMENT_LENGTH)


class CommentCreateSerializer(CommentInSerializer):
    revision = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                        help_text="The revision you are reviewing; 409 if it is no longer current.")


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decision = serializers.CharField(source="review.decision", allow_null=True, read_only=True, default=None)

    class Meta:
        model = ReviewComment
        fields = ["id", "masklet", "revision", "review", "decision", "author", "frame_index", "text", "created_at"]
        read_only_fields = fields


class AcceptSerializer(serializers.Serializer):
    revision = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                        help_text="The revision you reviewed; 409 if it is no longer current.")
    comments = CommentInSerializer(many=True, required=False, max_length=MAX_COMMENTS_PER_REVISION,
                                   help_text="Notes pinned to frames, kept with the decision.")


class RejectSerializer(AcceptSerializer):
    # Required and not blank in the schema too (the service also refuses a reason of spaces).
    reason = serializers.CharField(max_length=MAX_REASON_LENGTH, help_text="What the annotator should fix.",
                                   error_messages={"required": NO_REASON, "blank": NO_REASON})


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                            help_text="Empty for the verifier's automatic decisions.")
    masklet = serializers.IntegerField(source="revision.masklet_id", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "masklet", "revision", "reviewer", "decision", "reason", "lease_override", "verifier_score",
                  "created_at"]
        read_only_fields = fields


class RejectionSerializer(serializers.Serializer):
    review = ReviewSerializer()
    task = TaskSerializer(help_text="The refinement task the rejection created.")


# ---- Metrics -----------------------------------------------------------------------------------


class MetricsQuerySerializer(serializers.Serializer):
    project = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    group_by = serializers.ChoiceField(choices=GROUP_BYS, default="phase")


class PaperFiguresSerializer(serializers.Serializer):
    time_per_frame_s = serializers.FloatField()
    edited_frames_percent = serializers.FloatField()
    clicks_per_clicked_frame = serializers.FloatField()
    alignment_percent = serializers.FloatField(allow_null=True)


class MetricsRowSerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=GROUP_BYS)
    key = serializers.IntegerField(allow_null=True, help_text="Phase, user id, model version id or label id.")
    label = serializers.CharField()
    tasks = serializers.IntegerField(help_text="Submitted tasks.")
    masklets = serializers.IntegerField(help_text="Submitted masklet revisions.")
    frames = serializers.IntegerField(help_text="Annotated frames of the tasks' videos.")
    time_per_frame_s = serializers.FloatField(allow_null=True)
    edited_frames_percent = serializers.FloatField(allow_null=True)
    clicks_per_clicked_frame = serializers.FloatField(allow_null=True)
    alignment_percent = serializers.FloatField(allow_null=True, help_text="Mean IoU > 0.75 vs phase-1 masks.")
    alignment_pairs = serializers.IntegerField(help_text="Revisions that had phase-1 masks to compare with.")
    paper = PaperFiguresSerializer(allow_null=True, help_text="The SAM 2 paper's Table 1 row, by phase.")
