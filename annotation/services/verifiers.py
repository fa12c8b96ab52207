"""The masklet verifier on the platform: training versions (a Job), scoring the verification
queue, and the policy of automatic decisions with its thresholds.

Training uses the human decisions (``human_decisions``) and the signals of the revisions they were
made on; ``engine.verifier`` trains and calibrates on out-of-fold (held-out) scores, which also give
each version's precision, recall and AUC and, for the admin's target precision, the auto-accept
(and auto-reject) thresholds. A new version becomes the active one and scores the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from annotation.models import VerifierPolicy, VerifierScore, VerifierVersion
from annotation.selectors.reviews import human_decisions, review_queue
from annotation.services.signals import revision_signals_ensure
from dataplatform.errors import ApplicationError, ConflictError
from dataplatform.models import Job
from dataplatform.services.jobs import job_claim, job_create, job_fail, job_progress, job_succeed
from engine.verifier import VerifierModel, threshold_for_precision, threshold_for_rejection, train_verifier
from engine.verifier.classifier import precision_at

SCORE_BATCH = 500
MAX_TRAINING_DECISIONS = 100_000
MIN_THRESHOLD_SUPPORT = 10  # held-out decisions beyond a threshold, at least


def verifier_policy() -> VerifierPolicy:
    """The platform's policy of automatic decisions (made, off, on first use)."""
    policy, _ = VerifierPolicy.objects.get_or_create(pk=1)
    return policy


def verifier_policy_update(*, user, **changes) -> VerifierPolicy:
    """Change the policy (admins). Switching it on clears why it stopped last time."""
    checks = {"target_precision": (0.5, 1.0), "audit_rate": (0.0, 1.0)}
    with transaction.atomic():
        policy = VerifierPolicy.objects.select_for_update().get(pk=verifier_policy().pk)
        for name, value in changes.items():
            if value is None:
                continue
            if name in checks:
                low, high = checks[name]
                if not (low < value <= high if name == "target_precision" else low <= value <= high):
                    raise ApplicationError(f"{name} must be in {'(' if name == 'target_precision' else '['}"
                                           f"{low}, {high}], got {value}.", {"field": name})
            setattr(policy, name, value)
        if changes.get("enabled"):
            policy.stopped_reason, policy.stopped_at = "", None
        policy.updated_by = user
        policy.save()
    return policy


def verifier_active() -> VerifierVersion | None:
    return VerifierVersion.objects.filter(is_active=True).first()


@dataclass(frozen=True)
class Thresholds:
    accept: float | None
    reject: float | None
    held_out_precision: float | None  # of the automatic accepts at ``accept``, on held-out decisions
    held_out_share: float | None  # share of the held-out decisions the verifier would accept


def verifier_thresholds(*, version: VerifierVersion, policy: VerifierPolicy) -> Thresholds:
    """The auto-accept threshold reaching the policy's target precision on the version's held-out
    decisions, and the auto-reject one (only when the policy rejects automatically)."""
    scores, labels = version.held_out_scores, version.held_out_labels
    accept = threshold_for_precision(scores, labels, policy.target_precision, min_accepts=MIN_THRESHOLD_SUPPORT)
    reject = (threshold_for_rejection(scores, labels, policy.target_precision, min_rejects=MIN_THRESHOLD_SUPPORT)
              if policy.auto_reject else None)
    at = precision_at(scores, labels, accept)
    share = None if accept is None else sum(s >= accept for s in scores) / len(scores)
    return Thresholds(accept=accept, reject=reject, held_out_precision=at["precision"], held_out_share=share)


def verifier_training_start(*, user) -> Job:
    """Queue the training of a new verifier version (admins)."""
    with transaction.atomic():
        if Job.objects.select_for_update().filter(kind=Job.Kind.VERIFIER_TRAINING, status__in=Job.ACTIVE).exists():
            raise ConflictError("A verifier is already being trained; wait for its Job to finish.")
        count = human_decisions().count()
        if count < 20:
            raise ApplicationError(f"Training the verifier needs at least 20 human review decisions; there are "
                                   f"{count}. Review more masklets first.")
        return job_create(kind=Job.Kind.VERIFIER_TRAINING, created_by=user, progress_total=3)


def verifier_train(*, user=None, job: Job | None = None, seed: int = 0) -> VerifierVersion:
    """Train a version on every human decision so far and make it active; then score the queue.
    Raises ApplicationError when there are too few decisions."""
    decisions = list(human_decisions().order_by("created_at", "id")
                     .values_list("revision_id", "decision", "audit_decision", "reviewer_id")[:MAX_TRAINING_DECISIONS])
    signals = revision_signals_ensure(revision_ids=[d[0] for d in decisions])
    if job is not None:
        job_progress(job=job, done=1)
    rows, labels = [], []
    for revision_id, decision, audit, reviewer in decisions:
        rows.append(signals[revision_id])
        labels.append((decision if reviewer is not None else audit) == "accept")
    try:
        trained = train_verifier(rows, labels, seed=seed)
    except ValueError as error:
        raise ApplicationError(str(error)) from None
    if job is not None:
        job_progress(job=job, done=2)
    data = trained.model.to_bytes()
    with transaction.atomic():
        VerifierVersion.objects.select_for_update().filter(is_active=True).update(is_active=False)
        number = (VerifierVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        version = VerifierVersion.objects.create(
            number=number, job=job, model=data, sha256=VerifierModel.checksum(data), metrics=trained.metrics,
            held_out_scores=trained.held_out_scores, held_out_labels=trained.held_out_labels,
            decisions=len(labels), is_active=True, created_by=user)
    verifier_score_queue()
    return version


def verifier_training_run(*, job: Job, celery_task_id: str = "") -> None:
    """The training Job's body (the worker's task): claim, train, record the version."""
    claimed = job_claim(job_id=job.pk, celery_task_id=celery_task_id)
    if claimed is None:
        return
    try:
        version = verifier_train(user=claimed.created_by, job=claimed)
    except ApplicationError as error:
        job_fail(job=claimed, message=error.message)
        return
    job_succeed(job=claimed, result={"version": version.number, **version.metrics})


def verifier_model(version: VerifierVersion) -> VerifierModel:
    return VerifierModel.from_bytes(bytes(version.model), version.sha256)


def verifier_score_revisions(*, version: VerifierVersion, revision_ids: list[int]) -> dict[int, float]:
    """Score revisions with a version (stored; already scored ones are read back)."""
    known = dict(VerifierScore.objects.filter(version=version, revision_id__in=revision_ids)
                 .values_list("revision_id", "score"))
    todo = [i for i in revision_ids if i not in known]
    if todo:
        signals = revision_signals_ensure(revision_ids=todo)
        scores = verifier_model(version).predict([signals[i] for i in todo])
        VerifierScore.objects.bulk_create(
            [VerifierScore(revision_id=i, version=version, score=float(s)) for i, s in zip(todo, scores, strict=True)],
            ignore_conflicts=True)
        known.update({i: float(s) for i, s in zip(todo, scores, strict=True)})
    return known


def verifier_score_queue(*, limit: int = SCORE_BATCH) -> int:
    """Score the current revisions of the masklets waiting for review that the active version
    has not scored yet (at most ``limit``); returns how many were scored."""
    version = verifier_active()
    if version is None:
        return 0
    todo = list(review_queue().filter(verifier_score__isnull=True)
                .values_list("current_revision_id", flat=True)[:limit])
    verifier_score_revisions(version=version, revision_ids=todo)
    return len(todo)
