"""Projects: every role reads, admins create and change; detail counts videos by status."""

from __future__ import annotations

import pytest

from dataplatform.models import Project, Video
from tests.dataplatform.conftest import error_of

pytestmark = pytest.mark.django_db

ROLES = ["annotator", "reviewer", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_lists_and_reads_projects(role, user_factory, api_client_for, project):
    client = api_client_for(user_factory(role))
    listing = client.get("/api/projects/")
    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 1
    assert body["results"][0]["name"] == project.name
    assert client.get(f"/api/projects/{project.pk}/").status_code == 200


@pytest.mark.parametrize("role, expected", [("annotator", 403), ("reviewer", 403), ("admin", 201)])
def test_only_admins_create(role, expected, user_factory, api_client_for):
    response = api_client_for(user_factory(role)).post(
        "/api/projects/", {"name": "Kitchen", "phase": 2, "annotation_fps": 4}, format="json")
    assert response.status_code == expected, response.content
    if expected == 201:
        body = response.json()
        assert (body["name"], body["phase"], body["annotation_fps"]) == ("Kitchen", 2, 4.0)
        assert body["video_counts"]["total"] == 0
        assert Project.objects.get(name="Kitchen").created_by.username.startswith("admin")
    else:
        assert error_of(response)["code"] == "permission_denied"
        assert not Project.objects.filter(name="Kitchen").exists()


def test_staff_without_group_is_admin(user_factory, api_client_for):
    staff = user_factory(None, is_staff=True)
    assert api_client_for(staff).post("/api/projects/", {"name": "Staff"}, format="json").status_code == 201


def test_create_defaults(admin_user, api_client_for, settings):
    body = api_client_for(admin_user).post("/api/projects/", {"name": "Defaults"}, format="json").json()
    assert body["phase"] == 3
    assert body["annotation_fps"] == settings.ANNOTATION_FPS


@pytest.mark.parametrize("payload, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "P", "phase": 4}, "phase"),
    ({"name": "P", "phase": "three"}, "phase"),
    ({"name": "P", "annotation_fps": 0}, "annotation_fps"),
    ({"name": "P", "annotation_fps": "fast"}, "annotation_fps"),
    ({"name": "P", "annotation_fps": 1e9}, "annotation_fps"),
    ({"name": ["P"]}, "name"),
])
def test_create_validation_names_the_field(payload, field, admin_user, api_client_for):
    response = api_client_for(admin_user).post("/api/projects/", payload, format="json")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"]


def test_duplicate_name_is_a_field_error(admin_user, api_client_for, project):
    response = api_client_for(admin_user).post("/api/projects/", {"name": project.name.upper()}, format="json")
    assert response.status_code == 400
    assert "name" in error_of(response)["fields"]


def test_body_not_an_object_or_not_json(admin_user, api_client_for):
    client = api_client_for(admin_user)
    response = client.post("/api/projects/", ["a list"], format="json")
    assert response.status_code == 400
    error_of(response)
    response = client.post("/api/projects/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"
    response = client.post("/api/projects/", "<xml/>", content_type="application/xml")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("role, expected", [("annotator", 403), ("reviewer", 403), ("admin", 200)])
def test_only_admins_update(role, expected, user_factory, api_client_for, project):
    response = api_client_for(user_factory(role)).patch(
        f"/api/projects/{project.pk}/", {"phase": 1, "description": "Phase 1 batch"}, format="json")
    assert response.status_code == expected
    project.refresh_from_db()
    assert project.phase == (1 if expected == 200 else 3)


def test_update_keeps_other_fields_and_checks_name(admin_user, api_client_for, project):
    other = Project.objects.create(name="Other")
    client = api_client_for(admin_user)
    response = client.patch(f"/api/projects/{project.pk}/", {"annotation_fps": 3}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == project.name
    assert response.json()["annotation_fps"] == 3.0
    response = client.patch(f"/api/projects/{project.pk}/", {"name": other.name}, format="json")
    assert response.status_code == 400
    assert "name" in error_of(response)["fields"]
    response = client.patch(f"/api/projects/{project.pk}/", {"name": project.name}, format="json")
    assert response.status_code == 200  # its own name is not taken


def test_detail_counts_videos_by_status(admin_user, api_client_for, project, video_factory):
    video_factory(ready=True)
    video_factory(ready=True)
    video_factory(status=Video.Status.FAILED, status_message="Not a video.")
    video_factory(status=Video.Status.INGESTING)
    body = api_client_for(admin_user).get(f"/api/projects/{project.pk}/").json()
    assert body["video_counts"] == {"total": 4, "uploaded": 0, "ingesting": 1, "ready": 2, "failed": 1}
    assert body["video_count"] == 4
    listing = api_client_for(admin_user).get("/api/projects/").json()
    assert listing["results"][0]["video_count"] == 4


@pytest.mark.parametrize("bad_id", ["0", "abc", "-1", "99999999999999999999999", "1.5", "%20"])
def test_bad_or_unknown_ids_are_404_in_the_shape(bad_id, annotator, api_client_for):
    response = api_client_for(annotator).get(f"/api/projects/{bad_id}/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_unknown_id_on_update_is_404(admin_user, api_client_for):
    response = api_client_for(admin_user).patch("/api/projects/9223372036854775807/", {"phase": 1},
                                                format="json")
    assert response.status_code == 404


def test_method_not_allowed_is_405_in_the_shape(admin_user, api_client_for, project):
    client = api_client_for(admin_user)
    response = client.delete(f"/api/projects/{project.pk}/")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert client.put("/api/projects/", {}, format="json").status_code == 405


def test_pagination_and_huge_page(admin_user, api_client_for):
    Project.objects.bulk_create([Project(name=f"P{i:02d}") for i in range(7)])
    client = api_client_for(admin_user)
    page = client.get("/api/projects/?page_size=3&page=2").json()
    assert page["count"] == 7
    assert [p["name"] for p in page["results"]] == ["P03", "P04", "P05"]
    assert page["next"] and page["previous"]
    for bad in ["99999999999999999999", "4&page_size=3", "abc", "0", "-1"]:
        response = client.get(f"/api/projects/?page={bad}")
        assert response.status_code == 404, bad
        assert error_of(response)["code"] == "not_found"
    # A huge page size is capped; one that is not a number is refused, naming the parameter
    # (it was ignored silently, against the schema's integer).
    assert client.get("/api/projects/?page_size=100000").status_code == 200
    response = client.get("/api/projects/?page_size=abc")
    assert response.status_code == 400 and "page_size" in error_of(response)["fields"]
