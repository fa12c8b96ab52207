"""The schema is the truth: Schemathesis fuzzes every operation of the OpenAPI schema against a live
server with the real Celery worker, with every check, as an admin and as an annotator, and finds
no server error and no response that disagrees with the schema.

The world it works in is the permission matrix's (``tests/permission_world.py``): path ids point at
its rows, so requests reach the views' logic rather than stopping at "not found". The run is
bounded by examples per operation and a time budget per caller (``SCHEMA_FUZZ_*`` below);
``SCHEMA_FUZZ_LOG_DIR`` keeps each caller's full Schemathesis output there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.permission_world import World, world_seed

# Per caller: examples per operation and phase, and a time budget (seconds) for the whole run.
MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_MAX_EXAMPLES", "20"))
MAX_SECONDS = int(os.environ.get("SCHEMA_FUZZ_MAX_SECONDS", "120"))
SEED = 19
CALLERS = ("admin", "annotator")
PDA = "positive_data_acceptance"

# Checks that disagree with a business rule on purpose, per operation, and why.
RULES: list[tuple[str, list[str], str]] = [
    # Revoking the token the run authenticates with would answer every later request 401
    # (tests/test_permission_matrix.py and tests/dataplatform/test_api_auth.py cover it).
    ("auth_token_revoke", ["all"], "revokes the run's own credentials"),
    # positive_data_acceptance: a request the schema allows that a business rule refuses, on
    # purpose, with a 400 that says why. The schema cannot say which:
    ("auth_token_create", [PDA], "credentials are checked against the accounts"),
    ("auth_login", [PDA], "credentials are checked against the accounts"),
    ("projects_create", [PDA], "project names are unique"),
    ("projects_update", [PDA], "project names are unique"),
    ("projects_videos_upload", [PDA], "the file must be a video (its content is probed)"),
    ("projects_videos_register", [PDA], "the URI must name a stored object"),
    ("videos_imports_create", [PDA], "the files must be SA-V JSON or a DAVIS zip of this video's size"),
    ("exports_create", [PDA], "exactly one of project or videos, naming rows that exist"),
    ("retraining_rounds_create", [PDA], "needs accepted masklets to train on; keys and ranges checked by name"),
    ("verifier_train", [PDA], "needs 20 human review decisions to train on"),
    ("model_versions_evaluate", [PDA], "needs accepted masklets on the chosen held-out split to score on"),
    ("masklets_reject", [PDA], "a reason of spaces says nothing"),
    ("tasks_submit", [PDA], "only masklets with masks of the task's video; something to submit"),
    ("tasks_prompt", [PDA], "the object must be one of the task's, the frame in the video, the tool the phase's"),
    ("tasks_propagate", [PDA], "something prompted to propagate, from a frame of the video"),
    ("tasks_masks", [PDA], "the frame range within the video, the object one of the task's"),
    ("tasks_next", [PDA], "a project filter names a project that exists (a typo is not an empty queue)"),
    ("reviews_next", [PDA], "project and video filters name rows that exist"),
    ("tasks_create", [PDA], "the video exists and is ready"),
    ("metrics_table", [PDA], "a project filter names a project that exists"),
    ("metrics_dashboard", [PDA], "a project filter names a project that exists"),
    ("users_create", [PDA], "usernames are unique"),
    ("users_update", [PDA], "an admin cannot deactivate themselves or drop their own admin role"),
    ("videos_split", [PDA], "every video named must exist (all or none)"),
    ("tasks_update", [PDA], "only a queued task is assigned, to an active annotator; a finished one is reopened first"),
    ("tasks_requeue", [PDA], "only a leased task has a lease to take back"),
    ("tasks_reopen", [PDA], "only a submitted or cancelled task is reopened"),
    ("retraining_rounds_preview", [PDA], "data selection keys and values are checked by name"),
    ("model_versions_register", [PDA], "exactly one of a file or a storage URI naming a stored checkpoint; "
                                       "version names are unique"),
]


def _config(world: World) -> str:
    """schemathesis.toml: path parameters on the world's rows, the documented exclusions."""
    ids = {"project_id": world.project.pk, "video_id": world.video.pk, "job_id": world.job.pk,
           "task_id": world.task.pk, "masklet_id": world.draft.pk, "version_id": world.model_version.pk,
           "round_id": world.retraining_round.pk,
           # Accounts: one the run does not authenticate as (deactivating it changes nothing for the run).
           "user_id": world.users["other_annotator"].pk}
    lines = [f"seed = {SEED}", "workers = 1", f"max-time = {MAX_SECONDS}",
             "[generation]", f"max-examples = {MAX_EXAMPLES}", "",
             # PostgreSQL text cannot hold NUL: the API refuses it with a 400 naming the field.
             "allow-x00 = false", "",
             "[checks]", "enabled = true", "",
             # Stateful steps that could not be made invalid are reported as "invalid data
             # accepted" with the component "positive test case" (a POST without a body).
             "[phases.stateful.checks]", "negative_data_rejection.enabled = false", ""]
    lines += ["[[operations]]", 'include-operation-id = "videos_destroy"',  # keeps the world's video
              f"parameters = {{ video_id = {world.spare_video.pk} }}", ""]
    for operation_id in ("tasks_requeue", "tasks_reopen", "tasks_update"):  # keep the annotator caller's lease
        lines += ["[[operations]]", f'include-operation-id = "{operation_id}"',
                  f"parameters = {{ task_id = {world.other_task.pk} }}", ""]
    for name, value in ids.items():
        lines += ["[[operations]]", f'include-path-regex = "\\\\{{{name}\\\\}}"',
                  f"parameters = {{ {name} = {value} }}", ""]
    for operation_id, checks, _why in RULES:
        lines += ["[[operations]]", f'include-operation-id = "{operation_id}"']
        if checks == ["all"]:
            lines.append("enabled = false")
        else:
            lines += [f"checks.{check}.enabled = false" for check in checks]
        lines.append("")
    return "\n".join(lines)


def _run(live_server, token: str, config: Path, report: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()",
               "--config-file", str(config), "run", f"{live_server.url}/api/schema/?format=json",
               "--url", live_server.url, "--header", f"Authorization: Token {token}",
               "--report", "json", "--report-json-path", str(report),
               "--no-color", "--output-truncate", "false"]
    return subprocess.run(command, capture_output=True, text=True, timeout=MAX_SECONDS * 2 + 60,
                          cwd=report.parent, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # its cache there


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_operation_answers_as_the_schema_says(live_platform, live_server, settings, tmp_path) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = world_seed()
    schema = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30).json()
    operation_ids = {op["operationId"] for path in schema["paths"].values() for op in path.values()
                     if isinstance(op, dict) and "operationId" in op}
    unknown = {operation_id for operation_id, _, _ in RULES} - operation_ids
    assert not unknown, f"RULES names operations the schema does not have: {sorted(unknown)}"
    found = []
    for caller in CALLERS:
        config = tmp_path / f"{caller}.toml"
        config.write_text(_config(world))
        report = tmp_path / f"{caller}.json"
        result = _run(live_server, world.tokens[caller], config, report)
        (Path(os.environ.get("SCHEMA_FUZZ_LOG_DIR", tmp_path)) / f"schemathesis-{caller}.log").write_text(
            result.stdout + result.stderr)
        assert report.is_file(), f"Schemathesis wrote no report as {caller}:\n{result.stdout[-3000:]}{result.stderr}"
        document = json.loads(report.read_text())
        problems = [f"{caller}: {failure['title']} ({failure['code']}, {failure['count']}×) in "
                    f"{', '.join(failure['operations'])}" for failure in document["failures"]]
        problems += [f"{caller}: error {error['title']} ({error['count']}×)" for error in document["errors"]]
        if problems:  # the reproductions (curl commands) are in the run's FAILURES section
            details = result.stdout.partition("= FAILURES =")[2].partition("= WARNINGS =")[0]
            problems.append(details[:8000])
        found += problems
    assert not found, "\n".join(found)
