"""``python manage.py train_verifier``: train a new verifier version on every human review
decision so far (the same work as the API's Job, run here), print its held-out metrics and the
thresholds of the current policy."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotation.services.verifiers import verifier_policy, verifier_thresholds, verifier_train
from dataplatform.errors import ApplicationError


class Command(BaseCommand):
    help = "Train a new version of the masklet verifier on the platform's review decisions."

    def handle(self, *args, **options) -> None:
        try:
            version = verifier_train()
        except ApplicationError as error:
            raise CommandError(error.message) from None
        m = version.metrics
        policy = verifier_policy()
        t = verifier_thresholds(version=version, policy=policy)
        self.stdout.write(f"verifier v{version.number}: {m['decisions']} decisions ({m['accepts']} accepted); "
                          f"held-out AUC {m['auc']:.3f}, precision {m['precision']:.3f}, recall {m['recall']:.3f}")
        accept = "none" if t.accept is None else f"{t.accept:.3f}"
        self.stdout.write(f"auto-accept threshold for {policy.target_precision:.1%} precision: {accept}")
