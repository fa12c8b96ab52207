"""``python manage.py retrain --base NAME --phases 1,2,3 [--since DATE] [--until DATE] [--project ID]
[--steps N] [--lr X] [--promote]``: a retraining round run in this process (no worker needed), with
a progress bar; the same services as the API (``annotation.services.retraining``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import ModelVersion, RetrainingRound
from annotation.services.modelversions import model_version_ensure_default, model_version_promote
from annotation.services.retraining import retraining_round_launch, retraining_round_run
from dataplatform.errors import ApplicationError


class Command(BaseCommand):
    help = "Fine-tune a model version on accepted masklets, evaluate it on the val split, register it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base", default="", help="Base model version name (default: the active one).")
        parser.add_argument("--phases", default="1,2,3", help="Phases of the accepted masklets, e.g. 1,2,3.")
        parser.add_argument("--since", default="", help="Accepted at or after (YYYY-MM-DD or ISO time).")
        parser.add_argument("--until", default="", help="Accepted before (YYYY-MM-DD or ISO time).")
        parser.add_argument("--project", type=int, default=None, help="Only this project's videos.")
        parser.add_argument("--splits", default="train", help="Video splits to train on: train[,unassigned].")
        parser.add_argument("--steps", type=int, default=None)
        parser.add_argument("--lr", type=float, default=None)
        parser.add_argument("--average-decay", type=float, default=None,
                            help="Keep the moving average of the weights over the second half of the steps "
                                 "(e.g. 0.95) instead of the last step's.")
        parser.add_argument("--eval-videos", type=int, default=None, help="Val videos to score (0: none).")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--user", default="", help="Username recorded as the round's author.")
        parser.add_argument("--promote", action="store_true", help="Promote the new version when it succeeds.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        from tqdm import tqdm

        base = self._base(options["base"])
        try:
            phases = [int(p) for p in options["phases"].split(",") if p.strip()]
        except ValueError:
            raise CommandError(f"--phases is a comma-separated list of phases, got {options['phases']!r}.") from None
        selection = {"phases": phases, "splits": [s.strip() for s in options["splits"].split(",") if s.strip()]}
        for key in ("since", "until", "project"):
            if options[key]:
                selection[key] = options[key]
        hyper = {name: options[key] for name, key in (("steps", "steps"), ("lr", "lr"),
                                                      ("eval_videos", "eval_videos"), ("seed", "seed"),
                                                      ("average_decay", "average_decay"))
                 if options[key] is not None}
        user = get_user_model().objects.filter(username=options["user"]).first() if options["user"] else None
        try:
            launched = retraining_round_launch(base_version=base, data_selection=selection, hyperparameters=hyper,
                                               user=user)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Retraining round {launched.pk}: {base.name} on {launched.job.params['train_masklets']} "
                          f"accepted masklets, {launched.hyperparameters['steps']} steps")
        bar = tqdm(total=launched.hyperparameters["steps"], unit="step", disable=options["no_progress"],
                   dynamic_ncols=True)

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{loss:.3f}")

        try:
            done = retraining_round_run(job=launched.job, on_step=on_step)
        finally:
            bar.close()
        if done is None:
            raise CommandError(f"The round's job {launched.job_id} was taken by a worker; follow it with the API.")
        if done.status != RetrainingRound.Status.SUCCEEDED:
            raise CommandError(f"Round {done.pk} {done.status}: {done.message}")
        version = done.resulting_version
        self.stdout.write(f"Registered model version {version.name} (id {version.pk}): {done.message}")
        for line in metrics_lines(version):
            self.stdout.write(line)
        if options["promote"]:
            model_version_promote(version=version, user=user)
            self.stdout.write(f"Promoted {version.name}: new sessions use it.")

    def _base(self, name: str) -> ModelVersion:
        if not name:
            return ModelVersion.objects.filter(is_active=True).first() or model_version_ensure_default()
        base = ModelVersion.objects.filter(name=name).first()
        if base is None:
            known = ", ".join(ModelVersion.objects.values_list("name", flat=True)[:20]) or "none"
            raise CommandError(f"No model version named {name!r}; known: {known}.")
        return base


def metrics_lines(version: ModelVersion) -> list[str]:
    """Held-out J&F of a version beside its parent's on the same videos."""
    metrics = version.metrics or {}
    val, base = metrics.get("val"), metrics.get("val_base") or {}
    if not val:
        return [metrics.get("note", "No held-out evaluation.")]
    lines = [f"held-out val: {metrics.get('val_videos')} videos, {metrics.get('val_objects')} objects",
             f"{'protocol':<10} {'base J&F':>9} {'new J&F':>9} {'new J':>7} {'new F':>7}"]
    for protocol, scores in val.items():
        before = base.get(protocol, {}).get("jf")
        lines.append(f"{protocol:<10} {'' if before is None else f'{before:.1f}':>9} {scores['jf']:>9.1f} "
                     f"{scores['j']:>7.1f} {scores['f']:>7.1f}")
    return lines
