"""The reference SAM 2 as the benches and the parity tests run it: made comparable with ours.

The reference (``rf-sam-2``, import name ``sam2``) is test- and bench-only; the engine never
imports it. Two things make its outputs comparable with the engine's on random weights:

- ``make_non_degenerate``: random weights call every object absent (every mask becomes -1024 and a
  comparison would prove nothing); the object-score head's bias makes them confidently present.
  It works on the reference model and on ours alike: their parameter names are the same.
- ``install_hole_filling_stand_in``: the reference fills small holes (``fill_hole_area``) only with
  its CUDA extension and silently skips the step without it (a warning); ours always fills them.
  Without the extension, ``connected_components_8`` stands in for it, so both sides compute the
  same post-processing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

OBJECT_SCORE_BIAS = 10.0  # sigmoid(10) ~ 1: "present"


def make_non_degenerate(model: nn.Module) -> None:
    """Make randomly initialised SAM 2 weights produce masks that are partly in and partly out."""
    with torch.no_grad():
        head = model.sam_mask_decoder.pred_obj_score_head
        last = head.layers[-1] if hasattr(head, "layers") else head
        last.bias.fill_(OBJECT_SCORE_BIAS)


def connected_components_8(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What the reference's CUDA extension computes (``sam2._C.get_connected_componnets``), by label
    propagation: (N, 1, H, W) binary -> (labels, areas), each (N, 1, H, W), 8-connected, 0 off the mask.

    Every pixel starts with its own label; each round takes the largest label in its 3x3
    neighbourhood, until nothing changes. Independent of the engine's run-based components.
    """
    on = mask.bool()
    n = on.numel()
    labels = torch.arange(1, n + 1, dtype=torch.float64, device=mask.device).reshape(on.shape) * on
    while True:
        grown = F.max_pool2d(labels, 3, stride=1, padding=1) * on
        if torch.equal(grown, labels):
            break
        labels = grown
    flat = labels.long().flatten()
    areas = (torch.bincount(flat, minlength=n + 1)[flat].reshape(on.shape) * on).to(torch.int32)
    return labels.to(torch.int32), areas


def install_hole_filling_stand_in() -> None:
    """Make the reference fill small holes as the official (CUDA) setup does, where its extension is
    not built."""
    try:
        from sam2 import _C  # noqa: F401
    except ImportError:
        import sam2.utils.misc

        sam2.utils.misc.get_connected_components = connected_components_8
