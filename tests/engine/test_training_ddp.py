"""DistributedDataParallel training on the CPU: 2 processes, the gloo backend, a few micro steps.

Each rank starts from different random weights and samples different clips; DDP broadcasts rank 0's
weights at the start and averages the gradients, so both ranks must end with identical weights,
moved away from the start.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

WORLD = 2
STEPS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from engine.config import get_config
    from engine.modeling.sam2 import build_sam2
    from engine.training import (
        ClipConfig,
        OptimConfig,
        PromptConfig,
        SyntheticMaskletDataset,
        TrainConfig,
        Trainer,
    )
    from engine.training.distributed import cleanup_distributed, init_distributed

    info = init_distributed(backend="gloo")
    assert info.world_size == WORLD and info.rank == rank
    torch.manual_seed(100 + rank)  # different initial weights on each rank: DDP must broadcast rank 0's
    model = build_sam2(get_config("micro").with_image_size(128))  # same weights, a quarter of the cost
    dataset = SyntheticMaskletDataset(3, 4, num_frames=4, height=64, width=64, num_objects=2)
    cfg = TrainConfig(clip=ClipConfig(num_frames=2, max_objects=2), prompts=PromptConfig(num_correction_points=1),
                      optim=OptimConfig(lr=1e-3, image_encoder_lr=1e-3, total_steps=STEPS), seed=11)
    trainer = Trainer(model, dataset, cfg, dist_info=info)
    start = {k: v.detach().clone() for k, v in model.state_dict().items()}  # after DDP's broadcast
    history = trainer.train(STEPS)
    torch.save({"start": start, "end": model.state_dict(), "losses": [s.loss for s in history],
                "prompts": [s.prompt for s in history]}, Path(out) / f"rank{rank}.pt")
    cleanup_distributed()


@pytest.mark.slow
def test_two_gloo_processes_end_with_identical_weights(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD))
    for name, a in r0["start"].items():
        torch.testing.assert_close(a, r1["start"][name], rtol=0, atol=0, msg=f"start {name}")
    for name, a in r0["end"].items():
        torch.testing.assert_close(a, r1["end"][name], rtol=0, atol=0, msg=f"end {name}")
    moved = [k for k in r0["end"] if not torch.equal(r0["end"][k], r0["start"][k])]
    assert any(k.startswith("sam_mask_decoder.") for k in moved)
    assert any(k.startswith("image_encoder.") for k in moved)
    assert r0["losses"] == r1["losses"]  # the logged loss is the mean over ranks
    assert all(torch.isfinite(torch.tensor(r0["losses"])))
