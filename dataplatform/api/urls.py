"""REST API routes (mounted at /api/). Ids use the ``oid`` converter: a bad id is a JSON 404."""

from django.urls import path, register_converter

from dataplatform.api import auth, jobs, projects, users, videos
from dataplatform.api.base import ObjectIdConverter

register_converter(ObjectIdConverter, "oid")

urlpatterns = [
    path("auth/csrf/", auth.CsrfApi.as_view(), name="auth-csrf"),
    path("auth/login/", auth.LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", auth.LogoutApi.as_view(), name="auth-logout"),
    path("auth/me/", auth.MeApi.as_view(), name="auth-me"),
    path("auth/token/", auth.TokenApi.as_view(), name="auth-token"),
    path("projects/", projects.ProjectListApi.as_view(), name="project-list"),
    path("projects/<oid:project_id>/", projects.ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<oid:project_id>/videos/", videos.ProjectVideosApi.as_view(), name="project-videos"),
    path("projects/<oid:project_id>/videos/register/", videos.ProjectVideoRegisterApi.as_view(),
         name="project-video-register"),
    path("users/", users.UserListApi.as_view(), name="user-list"),
    path("users/<oid:user_id>/", users.UserDetailApi.as_view(), name="user-detail"),
    path("videos/", videos.VideoListApi.as_view(), name="video-list"),
    path("videos/split/", videos.VideoSplitApi.as_view(), name="video-split"),
    path("videos/<oid:video_id>/", videos.VideoDetailApi.as_view(), name="video-detail"),
    path("jobs/", jobs.JobListApi.as_view(), name="job-list"),
    path("jobs/<oid:job_id>/", jobs.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<oid:job_id>/cancel/", jobs.JobCancelApi.as_view(), name="job-cancel"),
]
