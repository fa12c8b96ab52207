"""Train the shipped ``micro`` model from scratch on synthetic videos, on a CPU, then evaluate it.

    python -m engine.training.bootstrap                   # 30 minutes, writes engine/weights/micro.safetensors
    python -m engine.training.bootstrap --minutes 5 --out /tmp/micro.safetensors
    python -m engine.training.bootstrap --eval-only --out engine/weights/micro.safetensors

(``python manage.py train_bootstrap`` runs the same.) Training clips come from synthetic videos of
seed ``--train-seed``; the held-out evaluation set is made with ``--eval-seed`` and scored with the
semi-supervised protocols (GT mask, and one click, on each object's first frame).

The recipe is App. C.2's (8-frame clips, up to 3 masklets, mask / click / box prompts, corrective
clicks, 20:1:1:1 loss, AdamW, clip 0.1, layer-wise decay), with what training from scratch in
minutes needs instead of a fine-tune: a high learning rate (1e-3) with a short warm-up and a cosine
to a tenth, bounded by time (the schedule's horizon is re-estimated from the measured step time),
and 3 corrective clicks per corrected frame instead of 7.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from engine.checkpoint import load_model
from engine.config import get_config
from engine.modeling.sam2 import build_sam2
from engine.training.data import ClipConfig, SyntheticMaskletDataset
from engine.training.optim import OptimConfig
from engine.training.prompts import PromptConfig
from engine.training.trainer import StepStats, TrainConfig, Trainer

__all__ = ["BootstrapConfig", "BootstrapResult", "DEFAULT_WEIGHTS", "micro_recipe", "run_bootstrap"]

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "micro.safetensors"


def micro_recipe(seed: int = 0) -> TrainConfig:
    return TrainConfig(
        clip=ClipConfig(num_frames=8, max_objects=3, max_stride=2, hflip_prob=0.5, reverse_prob=0.25),
        prompts=PromptConfig(num_correction_points=3),
        optim=OptimConfig(lr=1e-3, image_encoder_lr=1e-3, layer_decay=0.9, weight_decay=0.1, warmup_steps=20,
                          total_steps=400, min_lr_ratio=0.1, grad_clip=0.1),
        seed=seed,
    )


@dataclass(frozen=True)
class BootstrapConfig:
    minutes: float = 30.0  # training time (evaluation comes after)
    max_steps: int = 1_000_000
    train_seed: int = 0
    eval_seed: int = 1_000_003  # another seed: no training video is in the evaluation set
    eval_videos: int = 6
    eval_frames: int = 24
    threads: int = 1  # 1 thread is fastest on a busy machine; more where the cores are free
    out: Path = DEFAULT_WEIGHTS
    checkpoint: Path | None = None  # resumable training state, written every `save_every` steps
    resume: bool = False  # continue from `checkpoint`
    save_every: int = 25
    eval_only: bool = False
    progress: bool = True


@dataclass
class BootstrapResult:
    steps: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    jf: dict[str, float] = field(default_factory=dict)  # protocol -> J&F on the held-out set


def _summary(losses: list[float], parts: int = 5) -> str:
    if not losses:
        return "no steps"
    n = len(losses)
    chunks = [losses[i * n // parts:(i + 1) * n // parts] for i in range(parts)]
    return " -> ".join(f"{sum(c) / len(c):.2f}" for c in chunks if c)


def run_bootstrap(cfg: BootstrapConfig = BootstrapConfig(),
                  log: Callable[[str], None] = print) -> BootstrapResult:
    torch.set_num_threads(cfg.threads)
    result = BootstrapResult()
    if not cfg.eval_only:
        torch.manual_seed(cfg.train_seed)
        model = build_sam2(get_config("micro"))
        dataset = SyntheticMaskletDataset(cfg.train_seed, 1_000_000, num_frames=(16, 48))
        trainer = Trainer(model, dataset, micro_recipe(cfg.train_seed))
        ckpt = cfg.checkpoint or Path(tempfile.mkdtemp(prefix="micro-bootstrap-")) / "train.pt"
        if cfg.resume:
            trainer.load_checkpoint(ckpt)
            log(f"resumed from {ckpt} at step {trainer.step}")
        budget = cfg.minutes * 60
        start = time.perf_counter()
        times: list[float] = []

        def on_step(stats: StepStats) -> None:
            result.losses.append(stats.loss)
            times.append(stats.seconds)
            if stats.step % 10 == 0:  # re-aim the cosine at the step the time budget will allow
                recent = sum(times[-40:]) / len(times[-40:])
                left = budget - (time.perf_counter() - start)
                trainer.set_total_steps(min(cfg.max_steps, stats.step + int(max(left, 0) / recent)))
            if stats.step % cfg.save_every == 0:
                trainer.save_checkpoint(ckpt)
                trainer.save_weights(cfg.out)

        trainer.set_total_steps(min(cfg.max_steps, 400))
        trainer.train(cfg.max_steps - trainer.step, time_limit_s=budget, progress=cfg.progress, callback=on_step)
        result.steps, result.seconds = trainer.step, time.perf_counter() - start
        trainer.save_checkpoint(ckpt)
        trainer.save_weights(cfg.out)
        size = cfg.out.stat().st_size / 1e6
        log(f"trained micro for {result.steps} steps in {result.seconds / 60:.1f} min; "
            f"loss (5 windows) {_summary(result.losses)}; wrote {cfg.out} ({size:.1f} MB); state in {ckpt}")
    result.jf = evaluate_bootstrap(cfg, log)
    return result


def evaluate_bootstrap(cfg: BootstrapConfig, log: Callable[[str], None] = print) -> dict[str, float]:
    from engine.evaluation.protocols import evaluate_semi_supervised
    from engine.synthetic import make_dataset

    model = load_model(None, cfg.out)
    videos = make_dataset(cfg.eval_seed, cfg.eval_videos, num_frames=cfg.eval_frames)
    out = {}
    for prompt in ("mask", "1-click"):
        start = time.perf_counter()
        scores = evaluate_semi_supervised(model, [(v.frames, v.masks) for v in videos], prompt=prompt)
        out[prompt] = scores.jf
        log(f"held-out synthetic set (seed {cfg.eval_seed}, {cfg.eval_videos} videos x {cfg.eval_frames} frames, "
            f"{scores.num_objects} objects), prompt {prompt}: J&F {scores.jf:.1f} (J {scores.j:.1f}, "
            f"F {scores.f:.1f}) [{time.perf_counter() - start:.0f} s]")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = BootstrapConfig()
    parser.add_argument("--minutes", type=float, default=d.minutes, help="training time budget")
    parser.add_argument("--max-steps", type=int, default=d.max_steps)
    parser.add_argument("--train-seed", type=int, default=d.train_seed)
    parser.add_argument("--eval-seed", type=int, default=d.eval_seed)
    parser.add_argument("--eval-videos", type=int, default=d.eval_videos)
    parser.add_argument("--eval-frames", type=int, default=d.eval_frames)
    parser.add_argument("--threads", type=int, default=d.threads)
    parser.add_argument("--out", type=Path, default=d.out, help="where the weights go (safetensors)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="resumable training state (.pt)")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--eval-only", action="store_true", help="evaluate --out, do not train")
    parser.add_argument("--no-progress", action="store_true")


def config_from_args(args: argparse.Namespace) -> BootstrapConfig:
    if args.resume and args.checkpoint is None:
        raise ValueError("--resume needs --checkpoint")
    return dataclasses.replace(
        BootstrapConfig(), minutes=args.minutes, max_steps=args.max_steps, train_seed=args.train_seed,
        eval_seed=args.eval_seed, eval_videos=args.eval_videos, eval_frames=args.eval_frames,
        threads=args.threads, out=args.out, checkpoint=args.checkpoint, resume=args.resume,
        eval_only=args.eval_only, progress=not args.no_progress)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m engine.training.bootstrap", description=__doc__.split("\n")[0])
    add_arguments(parser)
    run_bootstrap(config_from_args(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
