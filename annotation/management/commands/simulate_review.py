"""``python manage.py simulate_review [--videos N] [--train-on N] [--target P] [--seed S]``: the
masklet verifier measured the way SAM 3's data engine measured its AI verifiers.

Simulated annotators and automatic masklets (``annotation.simulation.review``: the shipped micro
model in the loop, on synthetic videos with exact ground truth) make masklets of mixed quality,
saved through the platform's services with the engine's signals. They reach the verification
queue in a random order. A simulated reviewer accepts a masklet when its mean IoU with the ground
truth is at least 0.75 (the SAM 2 paper's rule) and rejects it otherwise. The first ``--train-on``
masklets are reviewed by people only; then the verifier is trained on those decisions (the
platform's ``verifier_train``), automatic decisions are switched on at the target precision (auto
accept and auto reject), and the rest come in batches (``--retrain-every``, 100): the verifier decides
what its thresholds allow, the reviewer audits the sampled automatic decisions (10 %), people
review the others, and the verifier is retrained on every human decision so far.

It prints human reviews per accepted masklet with the verifier and without it (every masklet
reviewed by a person), and the precision of the automatic decisions against the rule. It needs a
platform without earlier review decisions (a fresh database): the verifier trains on every one.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid

import numpy as np
import torch
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from annotation.models import Masklet, Review
from annotation.services.masklets import masklet_create, masklet_revision_create
from annotation.services.reviews import masklet_accept, masklet_reject, review_next_for
from annotation.services.verifier_decisions import (
    audit_precision,
    audit_queue,
    review_audit,
    verifier_decide_queue,
)
from annotation.services.verifiers import (
    verifier_policy,
    verifier_policy_update,
    verifier_thresholds,
    verifier_train,
)
from annotation.simulation.review import make_masklets
from dataplatform.models import Phase, Project, Video
from dataplatform.roles import ADMIN, ANNOTATOR, REVIEWER
from dataplatform.services.users import user_ensure
from engine.checkpoint import load_model, shipped_weights
from engine.synthetic import make_video


class Command(BaseCommand):
    help = "Measure the masklet verifier: human reviews per accepted masklet with and without it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--videos", type=int, default=80, help="Synthetic videos (about 7 masklets each).")
        parser.add_argument("--frames", type=int, default=8, help="Annotated frames per video.")
        parser.add_argument("--train-on", type=int, default=200, help="Human decisions before the verifier runs.")
        parser.add_argument("--target", type=float, default=0.98, help="Target precision of automatic decisions.")
        parser.add_argument("--audit-rate", type=float, default=0.10)
        parser.add_argument("--accept-iou", type=float, default=0.75, help="The reviewer's rule (paper: 0.75).")
        parser.add_argument("--retrain-every", type=int, default=100,
                            help="Retrain the verifier after this many further masklets.")
        parser.add_argument("--no-auto-reject", action="store_true", help="Automatic accepts only.")
        parser.add_argument("--seed", type=int, default=0)

    def log(self, text: str) -> None:
        self.stderr.write(text)

    def handle(self, *args, **opts) -> None:
        if not 1 <= opts["videos"] <= 1000 or not 2 <= opts["frames"] <= 48:
            raise CommandError("--videos must be 1–1000 and --frames 2–48.")
        if Review.objects.exists():
            raise CommandError("This platform already has review decisions, which the verifier would train on: "
                               "run simulate_review against a fresh database (DATABASE_URL).")
        torch.manual_seed(opts["seed"])
        torch.set_num_threads(1)  # the engine on a shared CPU: one thread is faster than oversubscribed ones
        rng = np.random.default_rng(opts["seed"])
        password = secrets.token_urlsafe(16)
        annotator = user_ensure(username="sim-annotator", password=password, roles=[ANNOTATOR])
        reviewer = user_ensure(username="sim-reviewer", password=password, roles=[REVIEWER])
        admin = user_ensure(username="sim-admin", password=password, roles=[ADMIN])
        project = Project.objects.create(name=f"review-sim-{uuid.uuid4().hex[:8]}", phase=Phase.SAM2_FULL)
        model = load_model(None, shipped_weights("micro"))
        quality: dict[int, float] = {}
        started = time.monotonic()
        for index in range(opts["videos"]):
            clip = make_video(int(rng.integers(0, 2**31 - 1)), num_frames=opts["frames"], height=128, width=128,
                              num_objects=int(rng.integers(2, 5)), look="studio")
            video = Video.objects.create(project=project, name=f"sim-review-{index}", status=Video.Status.READY,
                                         source_uri="synthetic", source_fps=6.0, annotation_fps=6.0,
                                         frame_count=opts["frames"], width=128, height=128, ready_at=timezone.now())
            with torch.inference_mode():
                made = make_masklets(model, clip, video_index=index, rng=rng)
            for m in made:
                masklet = masklet_create(video=video, kind=m.kind)
                manual = m.kind == Masklet.Kind.MANUAL
                masklet_revision_create(masklet=masklet, masks=m.masks, author=annotator if manual else None,
                                        phase=Phase.SAM2_FULL if manual else None, edited_frames=m.edited_frames,
                                        frame_scores=m.frame_scores, prompts=m.prompts,
                                        source="propagation" if manual else "auto")
                Masklet.objects.filter(pk=masklet.pk).update(status=Masklet.Status.SUBMITTED)
                quality[masklet.pk] = m.quality
            if (index + 1) % 10 == 0:
                self.log(f"  {index + 1} videos, {len(quality)} masklets ({time.monotonic() - started:.0f} s)")
        order = list(quality)
        random.Random(opts["seed"]).shuffle(order)
        rule = {pk: q >= opts["accept_iou"] for pk, q in quality.items()}

        def human_review(pk: int) -> None:
            masklet = review_next_for(user=reviewer, masklet=Masklet.objects.get(pk=pk))
            if rule[pk]:
                masklet_accept(masklet=masklet, user=reviewer, revision_id=masklet.current_revision_id)
            else:
                masklet_reject(masklet=masklet, user=reviewer, revision_id=masklet.current_revision_id,
                               reason=f"Mean IoU with the object {quality[pk]:.2f} < {opts['accept_iou']}.")

        first = order[:opts["train_on"]]
        for pk in first:
            human_review(pk)
        version = verifier_train(user=admin, seed=opts["seed"])
        verifier_policy_update(user=admin, enabled=True, target_precision=opts["target"],
                               audit_rate=opts["audit_rate"], min_decisions=opts["train_on"],
                               auto_reject=not opts["no_auto_reject"])
        rest = order[opts["train_on"]:]
        draw = random.Random(opts["seed"])
        audits, people = 0, []
        for start in range(0, len(rest), opts["retrain_every"]):
            batch = rest[start:start + opts["retrain_every"]]
            if start:  # the verifier retrains on every human decision so far, as the admin's Job would
                version = verifier_train(user=admin, seed=opts["seed"])
            verifier_decide_queue(limit=len(order), rng=draw, masklet_ids=batch)
            for review in list(audit_queue()):
                pk = review.revision.masklet_id
                decision = Review.Decision.ACCEPT if rule[pk] else Review.Decision.REJECT
                review_audit(review=review, user=reviewer, decision=decision,
                             reason=f"Mean IoU with the object {quality[pk]:.2f} < {opts['accept_iou']}.")
                audits += 1
            decided = set(Review.objects.filter(verifier_version__isnull=False, revision__masklet_id__in=batch)
                          .values_list("revision__masklet_id", flat=True))
            for pk in batch:
                if pk not in decided:
                    human_review(pk)
                    people.append(pk)
        thresholds = verifier_thresholds(version=version, policy=verifier_policy())
        automatic = {r.revision.masklet_id: r for r in Review.objects.filter(verifier_version__isnull=False)
                     .select_related("revision")}
        self.report(opts, order, rest, rule, automatic, audits, len(people), version, thresholds)

    def report(self, opts, order, rest, rule, automatic, audits, people, version, thresholds) -> None:
        accepted_all = sum(rule.values())
        accepted_rest = sum(rule[pk] for pk in rest)
        auto_accepts = [pk for pk, r in automatic.items() if r.decision == Review.Decision.ACCEPT]
        auto_rejects = [pk for pk, r in automatic.items() if r.decision == Review.Decision.REJECT]
        # With the verifier, a masklet counts as accepted when its standing decision is an accept.
        accepted_with = Masklet.objects.filter(pk__in=order, status=Masklet.Status.ACCEPTED).count()
        accepted_with_rest = Masklet.objects.filter(pk__in=rest, status=Masklet.Status.ACCEPTED).count()
        humans_with = opts["train_on"] + audits + people
        humans_rest = audits + people

        def ratio(reviews: int, accepted: int) -> str:
            return f"{reviews / accepted:.2f}" if accepted else "n/a"

        def share(pks: list[int], wanted: bool) -> str:
            if not pks:
                return "n/a (none)"
            good = sum(rule[pk] == wanted for pk in pks)
            return f"{good / len(pks):.1%} ({good} of {len(pks)})"

        m = version.metrics
        out = self.stdout.write
        out(f"Masklets: {len(order)}, {accepted_all} pass the "
            f"rule (mean IoU >= {opts['accept_iou']}); the verifier first ran after {opts['train_on']} human "
            f"decisions, retrained every {opts['retrain_every']} masklets; last version v{version.number}, trained "
            f"on {m['decisions']} decisions: held-out AUC {m['auc']:.3f}, thresholds for the target precision "
            f"{opts['target']:.0%}: accept >= {_fmt(thresholds.accept)}, reject <= {_fmt(thresholds.reject)}")
        out("")
        out("| masklets | review | human reviews | accepted masklets | human reviews per accepted masklet |")
        out("|---|---|---:|---:|---:|")
        out(f"| all {len(order)} | people only | {len(order)} | {accepted_all} | {ratio(len(order), accepted_all)} |")
        out(f"| all {len(order)} | with the verifier | {humans_with} | {accepted_with} | "
            f"{ratio(humans_with, accepted_with)} |")
        out(f"| the {len(rest)} after training | people only | {len(rest)} | {accepted_rest} | "
            f"{ratio(len(rest), accepted_rest)} |")
        out(f"| the {len(rest)} after training | with the verifier | {humans_rest} | {accepted_with_rest} | "
            f"{ratio(humans_rest, accepted_with_rest)} |")
        out("")
        measured = audit_precision()
        out(f"Automatic accepts: {len(auto_accepts)}, precision against the rule {share(auto_accepts, True)}; "
            f"automatic rejects: {len(auto_rejects)}, precision {share(auto_rejects, False)}.")
        out(f"Audits: {audits} ({opts['audit_rate']:.0%} sample); audited precision of accepts "
            f"{_pct(measured['accept']['precision'])}, of rejects {_pct(measured['reject']['precision'])}. "
            f"Automatic decisions {'stopped: ' + verifier_policy().stopped_reason if not verifier_policy().enabled else 'still on'}.")
        speedup_all = (len(order) / accepted_all) / (humans_with / accepted_with) if accepted_all and accepted_with else 0
        speedup_rest = ((len(rest) / accepted_rest) / (humans_rest / accepted_with_rest)
                        if accepted_rest and accepted_with_rest and humans_rest else 0)
        out(f"Fewer human reviews per accepted masklet: {speedup_all:.2f}x over the whole run, "
            f"{speedup_rest:.2f}x once the verifier runs.")


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
