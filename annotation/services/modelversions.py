"""Model version writes."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import ModelVersion
from annotation.services.checkpoints import model_version_require_usable
from dataplatform.errors import ApplicationError

DEFAULT_MODEL_VERSION_NAME = "micro-shipped"


def model_version_ensure_default() -> ModelVersion:
    """Make sure one model version is active: the shipped weights of ENGINE_DEFAULT_CONFIG.

    Idempotent. When some version is active already (a promoted retrained one), it stays active
    and is returned; otherwise the default version is created if missing and activated.
    """
    from engine.checkpoint import shipped_weights

    active = ModelVersion.objects.filter(is_active=True).first()
    if active is not None:
        return active
    if shipped_weights(settings.ENGINE_DEFAULT_CONFIG) is None:
        # Never a version without weights: the worker would refuse it (no random weights).
        raise ApplicationError(
            f"No model version is active, and ENGINE_DEFAULT_CONFIG={settings.ENGINE_DEFAULT_CONFIG} ships no "
            "weights. Set ENGINE_DEFAULT_CHECKPOINT to its checkpoint (a file or a storage URI) and run "
            "`python manage.py bootstrap`, or register one with `python manage.py register_model --promote`.",
            status_code=503, code="no_model")
    try:
        with transaction.atomic():
            version, _ = ModelVersion.objects.get_or_create(
                name=DEFAULT_MODEL_VERSION_NAME,
                defaults={"config_name": settings.ENGINE_DEFAULT_CONFIG, "checkpoint_key": ""},
            )
            ModelVersion.objects.filter(pk=version.pk).update(is_active=True, promoted_at=timezone.now())
    except IntegrityError:  # another process activated a version at the same moment
        pass
    return ModelVersion.objects.get(is_active=True)


def model_version_promote(*, version: ModelVersion, user) -> ModelVersion:
    """Make ``version`` the active one: sessions opened from now on use it. A task keeps the version
    its session first opened with (``annotation.services.sessions.session_model_version``), so open
    sessions are not disturbed. Idempotent: promoting the active version changes nothing.
    """
    with transaction.atomic():
        # Lock every active row (at most one) and the target, in id order, so two promotions serialise.
        list(ModelVersion.objects.select_for_update().filter(is_active=True).order_by("pk"))
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        model_version_require_usable(version=locked)
        if locked.is_active:
            return locked
        ModelVersion.objects.filter(is_active=True).update(is_active=False)
        now = timezone.now()
        ModelVersion.objects.filter(pk=locked.pk).update(is_active=True, promoted_at=now)
    version.refresh_from_db()
    return version


def model_version_register_default() -> ModelVersion | None:
    """Bootstrap's step for a default config that ships no weights (every official one).

    Registers ENGINE_DEFAULT_CHECKPOINT (once: a ready version from the same source is reused),
    checks it in-process and makes it active when no version is. ApplicationError, saying what to
    set, when the checkpoint is needed and not given, or when it is refused. None when the config
    ships weights (nothing to do).
    """
    from annotation.services.checkpoints import model_version_register, model_version_validate
    from engine.checkpoint import shipped_weights

    config = settings.ENGINE_DEFAULT_CONFIG
    if shipped_weights(config) is not None:
        return None
    source = settings.ENGINE_DEFAULT_CHECKPOINT.strip()
    if not source:
        if ModelVersion.objects.filter(is_active=True).exists():
            return None
        raise ApplicationError(
            f"ENGINE_DEFAULT_CONFIG={config} ships no weights, and a model never runs with random ones: set "
            f"ENGINE_DEFAULT_CHECKPOINT to its checkpoint file or storage URI (e.g. "
            f"/checkpoints/{config}.pt), or unset ENGINE_DEFAULT_CONFIG to use the "
            "shipped micro model.", code="no_checkpoint")
    version = ModelVersion.objects.filter(source=source, config_name=config,
                                          status=ModelVersion.Status.READY).first()
    if version is None:
        name = f"{config}-default"
        taken = ModelVersion.objects.filter(name__startswith=name).count()
        version, job = model_version_register(name=name if not taken else f"{name}-{taken + 1}", checkpoint=source,
                                              config_name=config, allow_local_path=True, dispatch=False)
        version = model_version_validate(job_id=job.pk) or version
        version.refresh_from_db()
    if version.status != ModelVersion.Status.READY:
        raise ApplicationError(f"ENGINE_DEFAULT_CHECKPOINT={source} was refused: {version.message}",
                               code="checkpoint_refused")
    if not ModelVersion.objects.filter(is_active=True).exists():
        version = model_version_promote(version=version, user=None)
    return version
