"""Small building blocks shared by several SAM 2 components (MLP heads, channel LayerNorm, linear)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# oneDNN's linear with the bias and activation fused ("linear pointwise"), in CPU builds of torch.
_ONEDNN_LINEAR = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def activation_name(act: nn.Module) -> str | None:
    """``"relu"``/``"gelu"`` for the activations ``linear`` can fuse (GELU: the exact erf form), else None."""
    if isinstance(act, nn.ReLU):
        return "relu"
    if isinstance(act, nn.GELU) and act.approximate == "none":
        return "gelu"
    return None


def linear(x: torch.Tensor, layer: nn.Linear, activation: str | None = None) -> torch.Tensor:
    """``layer(x)``, then ``activation`` (None, ``"relu"`` or ``"gelu"``, the exact erf GELU).

    On the CPU in float32 without autograd one oneDNN kernel does the product, the bias and the
    activation: torch's addmm first copies the bias over the output, and the activation is
    another pass, so on the large token maps of the image encoder and the memory attention this
    saves two of the three passes over the output. Same float32 math: the products are exact
    as before and only the summation order of long rows may differ (<= 5e-7 measured at 2048
    inputs). Elsewhere (GPU, other dtypes, training) it is the plain Linear and activation.
    """
    plain = type(layer) is nn.Linear and not (layer._forward_hooks or layer._forward_pre_hooks)
    w, b = layer.weight, layer.bias
    if (_ONEDNN_LINEAR and plain and x.device.type == "cpu" and x.dtype == w.dtype == torch.float32
            and not torch.is_grad_enabled()):
        if activation is None:
            return torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")
        return torch.ops.mkldnn._linear_pointwise(x, w, b, activation, [], "none" if activation == "gelu" else "")
    y = layer(x)
    if activation == "relu":
        return F.relu(y)
    if activation == "gelu":
        return F.gelu(y)
    if activation is not None:
        raise ValueError(f"unknown activation {activation!r}")
    return y


class MLP(nn.Module):
    """A stack of ``num_layers`` Linear layers with an activation between them (not after the last).

    Parameters are named ``layers.{i}.weight/bias`` as in the official checkpoints; the IoU head
    ends with a sigmoid when ``sigmoid_output`` (SAM 2 predicts IoU in [0, 1]).
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        num_layers: int,
        activation: type[nn.Module] = nn.ReLU,
        sigmoid_output: bool = False,
    ) -> None:
        super().__init__()
        dims_in = [input_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(dims_in, dims_out, strict=True))
        self.act = activation()
        self.sigmoid_output = sigmoid_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        fused = activation_name(self.act)
        for i, layer in enumerate(self.layers):
            if i < last and fused is not None:
                x = linear(x, layer, fused)
            else:
                x = linear(x, layer)
                if i < last:
                    x = self.act(x)
        return torch.sigmoid(x) if self.sigmoid_output else x


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of a (B, C, H, W) map, as in ConvNeXt (eps 1e-6)."""

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W): normalise each pixel's channel vector, then a per-channel affine.
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]
