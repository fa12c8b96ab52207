"""Input and output serializers of the platform API (projects, videos, jobs, auth).

Output serializers are read-only views of rows; input serializers validate what a view passes
to a service. Filters are serializers too, so a bad filter value is a 400 with its field named.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dataplatform.api.base import (
    MAX_ID,
    QueryBooleanField,
    StrictBooleanField,
    StrictCharField,
    StrictRegexField,
)
from dataplatform.models import Job, Phase, Project, Video
from dataplatform.roles import ROLES, user_roles
from dataplatform.selectors.users import user_role_names
from dataplatform.selectors.videos import video_frame_urls, video_thumbnail_url

# ---- Errors (for the schema) ------------------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: invalid, not_found, conflict, …")
    message = serializers.CharField(help_text="A sentence a person can act on.")
    fields = serializers.DictField(child=serializers.JSONField(), required=False,
                                   help_text="Validation errors by field.")
    extra = serializers.DictField(child=serializers.JSONField(), required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


# ---- Auth ------------------------------------------------------------------------------------


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class CsrfSerializer(serializers.Serializer):
    csrf_token = serializers.CharField(help_text="Send it back as the X-CSRFToken header on unsafe requests.")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField()
    is_staff = serializers.BooleanField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user) -> list[str]:
        return user_roles(user)


# ---- Projects ----------------------------------------------------------------------------------


class ProjectSerializer(serializers.ModelSerializer):
    video_count = serializers.IntegerField(read_only=True, default=0)
    phase_label = serializers.CharField(source="get_phase_display", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "name", "description", "phase", "phase_label", "annotation_fps", "model_version",
                  "video_count", "created_at"]
        read_only_fields = fields


class VideoCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    uploaded = serializers.IntegerField()
    ingesting = serializers.IntegerField()
    ready = serializers.IntegerField()
    failed = serializers.IntegerField()


class ProjectDetailSerializer(ProjectSerializer):
    video_counts = serializers.SerializerMethodField()

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "video_counts"]
        read_only_fields = fields

    @extend_schema_field(VideoCountsSerializer)
    def get_video_counts(self, project: Project) -> dict[str, int]:
        return self.context["video_counts"]


class ProjectCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True, default="", max_length=20000)
    phase = serializers.ChoiceField(choices=Phase.choices, required=False,
                                    help_text="1, 2 or 3: the phase of new annotation tasks. Default 3.")
    annotation_fps = serializers.FloatField(required=False, min_value=0.1, max_value=120,
                                            help_text="Frames per second sampled for annotation. Default 6.")
    model_version = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID,
                                             help_text="The model version of the project's new sessions (a ready "
                                                       "one); empty: the platform's active version.")


class ProjectUpdateSerializer(ProjectCreateSerializer):
    name = StrictCharField(max_length=200, required=False)
    description = StrictCharField(required=False, allow_blank=True, max_length=20000)


# ---- Videos ------------------------------------------------------------------------------------


class VideoSerializer(serializers.ModelSerializer):
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = ["id", "project", "name", "status", "status_message", "source_kind", "split", "frame_count",
                  "annotation_fps", "width", "height", "duration", "thumbnail_url", "created_at", "ready_at"]
        read_only_fields = fields

    def get_thumbnail_url(self, video: Video) -> str | None:
        return video_thumbnail_url(video=video)


class VideoDetailSerializer(VideoSerializer):
    frame_urls = serializers.SerializerMethodField(help_text="One URL per annotated frame, in order.")

    class Meta(VideoSerializer.Meta):
        fields = [*VideoSerializer.Meta.fields, "source_fps", "source_frame_count", "size_bytes",
                  "frame_timestamps", "frame_urls", "updated_at"]
        read_only_fields = fields

    def get_frame_urls(self, video: Video) -> list[str]:
        return video_frame_urls(video=video)


class VideoFilterSerializer(serializers.Serializer):
    project = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    status = serializers.ChoiceField(choices=Video.Status.choices, required=False)
    split = serializers.ChoiceField(choices=Video.Split.choices, required=False)
    search = serializers.CharField(required=False, allow_blank=True, max_length=255,
                                   help_text="Part of the name, any case.")


class ProjectVideoFilterSerializer(VideoFilterSerializer):
    project = None


class VideoUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    split = serializers.ChoiceField(choices=Video.Split.choices, required=False)


class VideoSplitSerializer(serializers.Serializer):
    videos = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1,
                                   max_length=1000, help_text="Video ids (at most 1000).")
    split = serializers.ChoiceField(choices=Video.Split.choices)


class VideoSplitResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="Videos now in the split.")
    split = serializers.CharField()


class VideoUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The video file (MP4, MOV, WebM, …).")
    name = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                 help_text="Default: the file's name.")


class VideoRegisterSerializer(serializers.Serializer):
    uri = serializers.CharField(max_length=1024, help_text="s3://bucket/key, or a key in the platform's storage.")
    name = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                 help_text="Default: the last part of the URI.")


# ---- Jobs --------------------------------------------------------------------------------------


class JobProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="Empty while the total is not known yet.")


class JobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                              help_text="Who started the job; empty if no one did or the account is gone.")

    class Meta:
        model = Job
        fields = ["id", "kind", "status", "progress", "message", "project", "video", "cancel_requested",
                  "attempts", "result", "created_by", "created_at", "started_at", "heartbeat_at", "finished_at"]
        read_only_fields = fields

    @extend_schema_field(JobProgressSerializer)
    def get_progress(self, job: Job) -> dict:
        done, total = job.progress_done, job.progress_total
        if job.status == Job.Status.SUCCEEDED:
            percent: float | None = 100.0
        elif total:
            percent = round(100.0 * min(done, total) / total, 1)
        else:
            percent = None
        return {"done": done, "total": total, "percent": percent}


class JobFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Job.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=Job.Status.choices, required=False)
    video = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    project = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class VideoWithJobSerializer(serializers.Serializer):
    video = VideoSerializer()
    job = JobSerializer()


# ---- Users (admins) ----------------------------------------------------------------------------


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField()
    is_active = serializers.BooleanField(help_text="False: deactivated, cannot log in.")
    roles = serializers.SerializerMethodField()
    last_login = serializers.DateTimeField(allow_null=True)
    date_joined = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ROLES)))
    def get_roles(self, user) -> list[str]:
        return user_role_names(user)


class UserFilterSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=150,
                                   help_text="Part of the username or email.")
    role = serializers.ChoiceField(choices=ROLES, required=False)
    is_active = QueryBooleanField(required=False, help_text="Only active (true) or deactivated (false) accounts.")


class UserCreateSerializer(serializers.Serializer):
    username = StrictRegexField(r"^[\w.@+-]+\Z", max_length=150,
                                      error_messages={"invalid": "Letters, digits and @ . + - _ only."})
    password = StrictCharField(min_length=8, max_length=4096, trim_whitespace=False,
                                     style={"input_type": "password"})
    email = serializers.EmailField(required=False, allow_blank=True, default="", max_length=254)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES), max_length=len(ROLES), default=list,
                                  help_text="Any of annotator, reviewer, admin.")


class UserUpdateSerializer(serializers.Serializer):
    password = StrictCharField(min_length=8, max_length=4096, trim_whitespace=False, required=False,
                                     style={"input_type": "password"})
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES), max_length=len(ROLES),
                                  required=False, help_text="The roles the account holds from now on.")
    is_active = StrictBooleanField(required=False, help_text="False deactivates the account.")
