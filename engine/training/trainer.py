"""The training loop: sample a clip, plan its prompts, track it with gradients, step the optimiser.

    model = build_sam2(get_config("micro"))               # or load_model(...) to fine-tune
    trainer = Trainer(model, SyntheticMaskletDataset(seed=0, n_videos=10_000), TrainConfig(...))
    trainer.train(steps=1000, progress=True)
    trainer.save_checkpoint("run/last.pt")                # model + optimizer + scheduler + step + RNG
    trainer.save_weights("model.safetensors")             # for load_model / VideoSession

One process on the CPU (float32) or a GPU (bfloat16 autocast); several GPUs (or CPU processes, gloo)
under torchrun, with DistributedDataParallel (``engine.training.distributed``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from engine.checkpoint import load_state_dict_strict, save_model
from engine.config import SAM2Config, config_to_json
from engine.modeling.sam2 import SAM2Model, build_sam2
from engine.training.averaging import WeightAverage
from engine.training.data import Clip, ClipConfig, MaskletDataset, sample_clip
from engine.training.distributed import DistInfo, all_reduce_mean, init_distributed, wrap_ddp
from engine.training.forward import clip_forward
from engine.training.loss import LossWeights, frame_loss, total_loss
from engine.training.optim import OptimConfig, build_optimizer, lr_factor
from engine.training.prompts import PromptConfig, PromptPlan, plan_prompts

__all__ = ["StepStats", "TrainConfig", "Trainer"]

TERMS = ("focal", "dice", "iou", "object_score")


@dataclass(frozen=True)
class TrainConfig:
    clip: ClipConfig = field(default_factory=ClipConfig)
    prompts: PromptConfig = field(default_factory=PromptConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossWeights = field(default_factory=LossWeights)
    seed: int = 0  # clip sampling and prompt simulation; rank r uses seed + 1000 r
    amp: bool = True  # bfloat16 autocast on CUDA (the CPU always trains in float32)
    # (a, b): the mask decoder's stride-4/8 skips are off before step a and ramp in linearly until
    # step b (None: on from the start, as the recipe). From scratch they are a shortcut from the image
    # to the mask that lets the decoder ignore the memory: see ``engine.training.bootstrap``.
    high_res_warmup: tuple[int, int] | None = None
    # (decay, first step): the run's result is the exponential moving average of the weights from that
    # step on (``engine.training.averaging``); None: the last step's weights.
    weight_average: tuple[float, int] | None = None

    def __post_init__(self) -> None:
        if self.high_res_warmup is not None and not 0 <= self.high_res_warmup[0] <= self.high_res_warmup[1]:
            raise ValueError(f"high_res_warmup {self.high_res_warmup} must be (start, end) with 0 <= start <= end")


@dataclass
class StepStats:
    step: int  # the step just done (1-based)
    loss: float  # the weighted total, averaged over ranks
    terms: dict[str, float]  # unweighted focal, dice, iou, object_score
    lr: float  # the largest group learning rate used in this step
    prompt: str  # "mask" | "click" | "box"
    num_objects: int
    seconds: float


class _ClipLoss(nn.Module):
    """The model and its loss as one module, so that DDP sees a forward per step."""

    def __init__(self, model: SAM2Model, cfg: TrainConfig) -> None:
        super().__init__()
        self.model, self.cfg = model, cfg

    def forward(self, clip: Clip, plan: PromptPlan, gen: torch.Generator, num_objects: float,
                high_res_scale: float = 1.0) -> tuple[Tensor, dict[str, Tensor]]:
        outputs = clip_forward(self.model, clip, plan, self.cfg.prompts, gen, high_res_scale)
        terms = {k: torch.zeros((), device=self.model.device) for k in TERMS}
        for out in outputs:
            for k, v in frame_loss(out.multimasks, out.ious, out.object_score_logits, out.targets,
                                   num_objects, self.cfg.loss).items():
                terms[k] = terms[k] + v
        return total_loss(terms, self.cfg.loss), terms


class Trainer:
    """Trains ``model`` in place on clips of ``dataset``; see the module docstring."""

    def __init__(self, model: SAM2Model, dataset: MaskletDataset, cfg: TrainConfig = TrainConfig(),
                 dist_info: DistInfo | None = None) -> None:
        self.cfg = cfg
        self.dist = dist_info if dist_info is not None else init_distributed()
        self.model = model.train()
        self.device = model.device
        self.dataset = dataset
        self.optimizer = build_optimizer(model, cfg.optim)
        # The schedule reads self.cfg at every step, so ``set_total_steps`` can move its horizon.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer,
                                                           lambda step: lr_factor(step, self.cfg.optim))
        self.step = 0
        seed = cfg.seed + 1000 * self.dist.rank
        self.rng = np.random.default_rng(seed)  # clip sampling
        self.gen = torch.Generator().manual_seed(seed)  # prompt simulation
        self.module = wrap_ddp(_ClipLoss(model, cfg), self.dist, self.device)
        self.average = WeightAverage(*cfg.weight_average) if cfg.weight_average is not None else None

    def set_total_steps(self, total_steps: int) -> None:
        """Move the schedule's horizon (a run bounded by time re-estimates how many steps it gets)."""
        optim = dataclasses.replace(self.cfg.optim, total_steps=max(total_steps, self.step + 1))
        self.cfg = dataclasses.replace(self.cfg, optim=optim)

    def set_image_size(self, image_size: int) -> None:
        """Train on at another input size from now on (same weights, same optimiser state).

        The weights do not depend on the input size (``SAM2Config.with_image_size``): a run may train
        at a low resolution first, which is several times cheaper, and finish at the model's own.
        """
        if image_size == self.model.image_size:
            return
        old = self.model
        new = build_sam2(old.config.with_image_size(image_size), init_weights=False).to(self.device)
        new.load_state_dict(old.state_dict())
        old_params, new_params = dict(old.named_parameters()), dict(new.named_parameters())
        for name, p in new_params.items():
            p.requires_grad_(old_params[name].requires_grad)
        swap = {id(old_params[n]): new_params[n] for n in old_params}
        for group in self.optimizer.param_groups:
            group["params"] = [swap[id(p)] for p in group["params"]]
        self.optimizer.state = defaultdict(dict, {swap[id(p)]: st for p, st in self.optimizer.state.items()})
        self.model = new.train()
        self.module = wrap_ddp(_ClipLoss(new, self.cfg), self.dist, self.device)

    def high_res_scale(self, step: int | None = None) -> float:
        """The factor of the decoder's high-res skips at ``step`` (default: the next step's, 0-based)."""
        step = self.step if step is None else step
        if self.cfg.high_res_warmup is None:
            return 1.0
        start, end = self.cfg.high_res_warmup
        if step < start:
            return 0.0
        return 1.0 if step >= end else (step - start) / (end - start)

    # -- one step ---------------------------------------------------------------------------------

    def sample(self) -> tuple[Clip, PromptPlan]:
        clip = sample_clip(self.dataset, self.rng, self.model.image_size, self.cfg.clip)
        return clip, plan_prompts(clip.masks, self.cfg.prompts, self.gen)

    def train_step(self, clip: Clip | None = None, plan: PromptPlan | None = None) -> StepStats:
        """One optimiser step on ``clip`` (sampled from the dataset if None) with ``plan`` (drawn if None)."""
        start = time.perf_counter()
        if clip is None:
            clip, plan = self.sample()
        elif plan is None:
            plan = plan_prompts(clip.masks, self.cfg.prompts, self.gen)
        assert plan is not None
        self.model.train()
        num_objects = max(1.0, float(all_reduce_mean(torch.tensor(float(clip.num_objects)), self.dist)))
        use_amp = self.cfg.amp and self.device.type == "cuda"
        with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=use_amp):
            loss, terms = self.module(clip, plan, self.gen, num_objects, self.high_res_scale())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        if self.cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, self.cfg.optim.grad_clip)
        lr = max(g["lr"] for g in self.optimizer.param_groups)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        if self.average is not None:
            self.average.update(self.model, self.step)
        reduced = all_reduce_mean(torch.stack([loss.detach(), *[terms[k].detach() for k in TERMS]]), self.dist)
        values = reduced.float().cpu().tolist()
        if not math.isfinite(values[0]):
            raise FloatingPointError(f"training loss is {values[0]} at step {self.step}")
        return StepStats(self.step, values[0], dict(zip(TERMS, values[1:], strict=True)), lr, plan.kind,
                         clip.num_objects, time.perf_counter() - start)

    # -- loops ------------------------------------------------------------------------------------

    def train(self, steps: int, *, time_limit_s: float | None = None, progress: bool = False,
              callback: Callable[[StepStats], None] | None = None) -> list[StepStats]:
        """Run up to ``steps`` more steps (and at most ``time_limit_s`` seconds); returns their stats."""
        from tqdm import tqdm

        history: list[StepStats] = []
        start = time.perf_counter()
        bar = tqdm(total=steps, disable=not (progress and self.dist.is_main), unit="step", dynamic_ncols=True)
        ema: float | None = None
        try:
            for _ in range(steps):
                stats = self.train_step()
                history.append(stats)
                ema = stats.loss if ema is None else 0.95 * ema + 0.05 * stats.loss
                if time_limit_s is not None:  # the horizon a time-bounded run aims at
                    bar.total = max(self.cfg.optim.total_steps, stats.step)
                bar.update(1)
                bar.set_postfix(step=stats.step, loss=f"{stats.loss:.3f}", avg=f"{ema:.3f}", lr=f"{stats.lr:.1e}")
                if callback is not None:
                    callback(stats)
                if time_limit_s is not None and self._stop_for_time(start, time_limit_s):
                    break
        finally:
            bar.close()
        return history

    def _stop_for_time(self, start: float, limit: float) -> bool:
        """Every rank stops at the same step: rank 0's clock decides."""
        over = torch.tensor(float(time.perf_counter() - start >= limit))
        if self.dist.enabled:
            import torch.distributed as dist

            dist.broadcast(over, src=0)
        return bool(over.item())

    # -- checkpoints ------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "image_size": self.model.image_size,
            "total_steps": self.cfg.optim.total_steps,
            "rng": {
                "numpy": self.rng.bit_generator.state,
                "prompts": self.gen.get_state(),
                "torch": torch.get_rng_state(),
                "python": random.getstate(),
            },
            "average": self.average.state_dict() if self.average is not None else None,
            "model_config": config_to_json(self.model.config),
            "train_config": repr(dataclasses.asdict(self.cfg)),
        }

    def load_state_dict(self, state: dict) -> None:
        self.set_image_size(int(state.get("image_size", self.model.image_size)))
        load_state_dict_strict(self.model, state["model"], source="training checkpoint")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        self.set_total_steps(int(state.get("total_steps", self.cfg.optim.total_steps)))
        if self.average is not None and state.get("average") is not None:
            self.average.load_state_dict(state["average"], device=self.device)
        rng = state["rng"]
        self.rng.bit_generator.state = rng["numpy"]
        self.gen.set_state(rng["prompts"])
        torch.set_rng_state(rng["torch"])
        random.setstate(rng["python"])

    def save_checkpoint(self, path: str | Path) -> Path:
        """Everything needed to continue exactly where this run is (rank 0 writes)."""
        path = Path(path)
        if self.dist.is_main:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            torch.save(self.state_dict(), tmp)
            tmp.replace(path)
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        self.load_state_dict(torch.load(str(path), map_location="cpu", weights_only=False))

    def save_weights(self, path: str | Path, config: SAM2Config | None = None) -> Path:
        """The model alone, as safetensors with its config (what ``load_model`` reads): the averaged
        weights once a weight average has started (``TrainConfig.weight_average``), else the current.

        ``config``: the config to store, e.g. the model's own input size after low-resolution training.
        """
        path = Path(path)
        if self.dist.is_main:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self.averaged_weights():
                save_model(self.model, path, config=config)
        return path

    @contextlib.contextmanager
    def averaged_weights(self) -> Iterator[SAM2Model]:
        """The model with the averaged weights inside the block (as is when no average has started)."""
        if self.average is None or not self.average.active:
            yield self.model
            return
        current = {name: p.detach().clone() for name, p in self.model.named_parameters()}
        self.average.copy_to(self.model)
        try:
            yield self.model
        finally:
            with torch.no_grad():
                for name, p in self.model.named_parameters():
                    p.copy_(current[name])

    def finish(self) -> SAM2Model:
        """End the run: the model takes the averaged weights for good (when averaging); returns it."""
        if self.average is not None and self.average.active:
            self.average.copy_to(self.model)
        return self.model
