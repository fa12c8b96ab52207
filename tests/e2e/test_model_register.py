"""Registering a checkpoint from the admin dashboard: upload progress, then the check's outcome on a
real Celery worker: ready (and promotable), or refused with the reason and no way to promote it."""

from __future__ import annotations

from annotation.models import ModelVersion
from engine.checkpoint import shipped_weights
from tests.e2e.conftest import section


def test_admin_registers_a_checkpoint_and_sees_a_refused_one_with_its_reason(live_platform, page, login,
                                                                             user_factory, tmp_path):
    login(page, user_factory("admin"))
    page.get_by_role("heading", name="Admin dashboard").wait_for()
    section(page, "Retraining & models")
    models = page.get_by_role("region", name="Model versions")
    models.get_by_text("Register a checkpoint").click()
    form = page.get_by_role("form", name="Register a checkpoint")

    form.get_by_label("Name").fill("micro-copy")
    form.get_by_label("Checkpoint").set_input_files(str(shipped_weights("micro")))
    form.get_by_role("button", name="Register").click()
    models.get_by_text("“micro-copy” is ready; promote it to use it.").wait_for(timeout=90_000)
    assert page.get_by_label("Checkpoint transfer").evaluate("bar => bar.value") == 100
    models.get_by_role("button", name="Promote micro-copy").wait_for()
    assert ModelVersion.objects.get(name="micro-copy").config_name == "micro"

    junk = tmp_path / "sam2.1_hiera_large.pt"
    junk.write_bytes(b"<html>Access denied</html>")
    form.get_by_label("Name").fill("large")
    form.get_by_label("Checkpoint").set_input_files(str(junk))
    form.get_by_role("button", name="Register").click()
    models.get_by_text("“large” was refused: sam2.1_hiera_large.pt").wait_for(timeout=90_000)
    refused = models.get_by_role("listitem").filter(has_text="large").filter(has_text="failed")
    refused.get_by_text("is not a PyTorch checkpoint").first.wait_for()
    assert refused.get_by_role("button").count() == 0, "a refused version has no Promote button"
    assert ModelVersion.objects.get(name="large").status == "failed"
