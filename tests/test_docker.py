"""docker/: the compose file and images are checked without a Docker engine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dataplatform.celery import CPU_QUEUE, GPU_QUEUE, TASK_ROUTES

DOCKER = Path(__file__).resolve().parents[1] / "docker"
SETTINGS = (Path(__file__).resolve().parents[1] / "dataplatform" / "settings.py").read_text()


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def command_of(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_every_service_of_the_production_topology_is_there(compose: dict) -> None:
    assert set(compose["services"]) == {
        "postgres", "redis", "minio", "minio-init", "web", "worker-cpu", "worker-gpu", "beat"}


def test_images_are_built_from_dockerfiles_that_exist(compose: dict) -> None:
    services = compose["services"]
    for name in ("web", "worker-gpu"):
        build = services[name]["build"]
        dockerfile = (DOCKER / build["context"] / build["dockerfile"]).resolve()
        assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
    # The CPU worker and beat reuse the web image; the GPU worker has its own CUDA image.
    assert services["worker-cpu"]["image"] == services["web"]["image"] == services["beat"]["image"]
    assert services["worker-gpu"]["image"] != services["web"]["image"]
    gpu_dockerfile = (DOCKER / "Dockerfile.gpu").read_text()
    assert re.search(r"ARG BASE_IMAGE=pytorch/pytorch:2\.13\.0-cuda", gpu_dockerfile)


def test_dockerfiles_pin_torch_and_never_install_torchvision() -> None:
    for path in DOCKER.glob("Dockerfile*"):
        text = path.read_text()
        assert "torchvision" not in text, path.name
        assert "pip install ." in text, path.name
    assert "torch==2.13.0" in (DOCKER / "Dockerfile").read_text()


def test_the_web_image_builds_the_ui_in_a_node_stage_and_copies_dist_before_collectstatic() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    stage = re.search(r"^FROM node:20\S* AS (\w+)$", text, re.MULTILINE)
    assert stage, "no Node stage (FROM node:20 AS …)"
    node = text[stage.end():text.index("FROM python")]
    assert "npm install --no-save" in node and "npm run build" in node
    assert node.index("npm install --no-save") < node.index("npm run build")
    copy = re.search(rf"^COPY --from={stage.group(1)} \S*/dist \./frontend/dist$", text, re.MULTILINE)
    assert copy, "the Python stage does not copy the UI's dist/ to frontend/dist"
    assert copy.start() < text.index("RUN python manage.py collectstatic")
    assert '"frontend" / "dist"' in SETTINGS  # the settings add it to the static files


def test_workers_consume_the_queues_the_routes_send_to(compose: dict) -> None:
    services = compose["services"]
    routed = {route["queue"] for route in TASK_ROUTES.values()}
    assert routed == {CPU_QUEUE, GPU_QUEUE}
    cpu = command_of(services["worker-cpu"])
    gpu = command_of(services["worker-gpu"])
    assert "-A dataplatform worker" in cpu and f"-Q {CPU_QUEUE}" in cpu
    assert "-A dataplatform worker" in gpu and f"-Q {GPU_QUEUE}" in gpu
    assert "--concurrency 1" in gpu, "a GPU worker runs one task at a time"
    assert "-A dataplatform beat" in command_of(services["beat"])
    reservation = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert reservation["driver"] == "nvidia" and "gpu" in reservation["capabilities"]


def test_web_migrates_then_serves_with_gunicorn(compose: dict) -> None:
    command = command_of(compose["services"]["web"])
    assert command.index("migrate") < command.index("gunicorn dataplatform.wsgi:application")
    assert "8000:8000" in compose["services"]["web"]["ports"]


def test_every_variable_given_to_the_platform_is_a_documented_setting(compose: dict) -> None:
    for name in ("web", "worker-cpu", "worker-gpu", "beat"):
        environment = compose["services"][name]["environment"]
        for variable in environment:
            assert re.search(rf'env\w*\("{variable}"', SETTINGS), f"{name}: {variable} is not read by settings"
            assert re.search(rf"# {variable}\b", SETTINGS) or re.search(rf"/ {variable}\b", SETTINGS), \
                f"{variable} has no comment documenting it in settings.py"


def test_services_point_at_the_compose_backends(compose: dict) -> None:
    environment = compose["services"]["web"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379")
    assert environment["STORAGE_BACKEND"] == "s3"
    assert environment["S3_ENDPOINT_URL"] == "http://minio:9000"
    minio = compose["services"]["minio"]["environment"]
    assert environment["S3_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert environment["S3_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]


def test_the_bucket_is_created_before_the_platform_starts(compose: dict) -> None:
    services = compose["services"]
    init = command_of(services["minio-init"])
    bucket = services["web"]["environment"]["S3_BUCKET"]
    assert f"mc mb --ignore-existing local/{bucket}" in init
    for name in ("web", "worker-cpu", "worker-gpu", "beat"):
        depends = services[name]["depends_on"]
        assert depends["minio-init"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "minio"):
        assert "healthcheck" in services[name], f"{name} needs a healthcheck for depends_on"


def test_official_checkpoints_are_mounted_where_register_model_and_bootstrap_run(compose: dict) -> None:
    web = compose["services"]["web"]
    mounts = [m for m in (re.fullmatch(r"\$\{MASKLET_CHECKPOINTS:-([^}]+)\}:/checkpoints:ro", v)
                          for v in web.get("volumes", [])) if m]
    assert mounts, "web: no read-only /checkpoints folder"
    assert (DOCKER / mounts[0].group(1)).resolve() == (DOCKER.parent / "checkpoints"), mounts[0].group(1)
    assert (DOCKER.parent / "checkpoints").is_dir()
    env = compose["x-masklet-env"]
    assert "ENGINE_DEFAULT_CHECKPOINT" in env and "ENGINE_DEFAULT_CONFIG" in env


def test_the_gpu_worker_runs_bf16_autocast_by_default(compose: dict) -> None:
    env = compose["services"]["worker-gpu"]["environment"]
    assert env["ENGINE_DTYPE"] == "${ENGINE_DTYPE:-bfloat16}"
    assert {"ENGINE_COMPILE", "ENGINE_OFFLOAD_FRAMES"} <= set(env)
