"""Memory attention: the current frame's features attend to the memory bank.

Each layer: self-attention over the frame's tokens (RoPE), cross-attention to the memories
(RoPE on the spatial memory tokens, repeated per memory frame; object-pointer tokens unrotated),
then an MLP; all pre-norm with residuals. Parameter names follow the official checkpoints
(``memory_attention.layers.{i}.self_attn.q_proj.weight`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from engine.modeling.common import activation_name, linear
from engine.modeling.rope import RoPEAttention


@dataclass(frozen=True)
class MemoryAttentionConfig:
    d_model: int = 256  # width of the frame tokens (the FPN neck's d_model)
    num_layers: int = 4  # stacked self-attn + cross-attn + MLP layers
    dim_feedforward: int = 2048  # MLP hidden width
    dropout: float = 0.1  # training only; inference runs the layers in eval mode
    activation: str = "relu"  # MLP activation: relu | gelu
    num_heads: int = 1  # heads of both attentions
    kv_in_dim: int = 64  # width of the memory tokens (the memory encoder's out_dim)
    rope_theta: float = 10000.0  # RoPE base frequency
    feat_sizes: tuple[int, int] = (64, 64)  # (w, h) of the stride-16 grid at 1024 px
    rope_k_repeat: bool = True  # cross-attn keys span several frames: repeat the rotations per frame
    pos_enc_at_input: bool = True  # add 0.1 * pos enc to the frame tokens before the first layer
    pos_enc_at_attn: bool = False  # add pos enc to self-attn queries/keys
    pos_enc_at_cross_attn_keys: bool = True  # add memory pos enc to cross-attn keys
    pos_enc_at_cross_attn_queries: bool = False  # add frame pos enc to cross-attn queries


class MemoryAttentionLayer(nn.Module):
    def __init__(self, cfg: MemoryAttentionConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.self_attn = RoPEAttention(d, cfg.num_heads, dropout=cfg.dropout, rope_theta=cfg.rope_theta,
                                       feat_sizes=cfg.feat_sizes)
        self.cross_attn_image = RoPEAttention(d, cfg.num_heads, dropout=cfg.dropout, kv_in_dim=cfg.kv_in_dim,
                                              rope_theta=cfg.rope_theta, rope_k_repeat=cfg.rope_k_repeat,
                                              feat_sizes=cfg.feat_sizes)
        self.linear1 = nn.Linear(d, cfg.dim_feedforward)
        self.linear2 = nn.Linear(cfg.dim_feedforward, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.norm3 = nn.LayerNorm(d)
        self.dropout = nn.Dropout(cfg.dropout)
        self.dropout1 = nn.Dropout(cfg.dropout)
        self.dropout2 = nn.Dropout(cfg.dropout)
        self.dropout3 = nn.Dropout(cfg.dropout)
        if cfg.activation not in ("relu", "gelu"):
            raise ValueError(f"unknown activation {cfg.activation!r}")
        self.activation: nn.Module = nn.ReLU() if cfg.activation == "relu" else nn.GELU()
        self.pos_enc_at_attn = cfg.pos_enc_at_attn
        self.pos_enc_at_cross_attn_keys = cfg.pos_enc_at_cross_attn_keys
        self.pos_enc_at_cross_attn_queries = cfg.pos_enc_at_cross_attn_queries

    def forward_self(self, tgt: Tensor, query_pos: Tensor) -> Tensor:
        """Self-attention block on (B, HW, C)."""
        x = self.norm1(tgt)
        qk = x + query_pos if self.pos_enc_at_attn else x
        return tgt + self.dropout1(self.self_attn(qk, qk, v=x))

    def forward_mlp(self, tgt: Tensor) -> Tensor:
        if torch.is_grad_enabled() or self.training:
            x = self.linear2(self.dropout(self.activation(self.linear1(self.norm3(tgt)))))
            return tgt + self.dropout3(x)
        # Inference: dropout is the identity; the activation is fused into the first product.
        return tgt + linear(linear(self.norm3(tgt), self.linear1, activation_name(self.activation)), self.linear2)

    def cross_query(self, tgt: Tensor, query_pos: Tensor) -> Tensor:
        x = self.norm2(tgt)
        return x + query_pos if self.pos_enc_at_cross_attn_queries else x

    def forward_cross_mlp(self, tgt: Tensor, memory: Tensor, pos: Tensor, query_pos: Tensor,
                          num_k_exclude_rope: int = 0) -> Tensor:
        """Cross-attention to the memories, then the MLP block, on (B, HW, C)."""
        keys = memory + pos if self.pos_enc_at_cross_attn_keys else memory
        attn = self.cross_attn_image(q=self.cross_query(tgt, query_pos), k=keys, v=memory,
                                     num_k_exclude_rope=num_k_exclude_rope)
        tgt = tgt + self.dropout2(attn)
        return self.forward_mlp(tgt)

    def forward(self, tgt: Tensor, memory: Tensor, pos: Tensor, query_pos: Tensor,
                num_k_exclude_rope: int = 0) -> Tensor:
        """tgt (B, HW, C), memory and pos (B, M, kv_in_dim), query_pos (B, HW, C) -> (B, HW, C)."""
        tgt = self.forward_self(tgt, query_pos)
        return self.forward_cross_mlp(tgt, memory, pos, query_pos, num_k_exclude_rope)


class MemoryAttention(nn.Module):
    def __init__(self, cfg: MemoryAttentionConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.d_model = cfg.d_model
        self.num_layers = cfg.num_layers
        self.pos_enc_at_input = cfg.pos_enc_at_input
        self.layers = nn.ModuleList([MemoryAttentionLayer(cfg) for _ in range(cfg.num_layers)])
        self.norm = nn.LayerNorm(cfg.d_model)

    def forward(self, curr: Tensor | list[Tensor], memory: Tensor, curr_pos: Tensor | list[Tensor],
                memory_pos: Tensor, num_obj_ptr_tokens: int = 0) -> Tensor:
        """Sequence-first like the reference: curr/curr_pos (HW, B, C), memory/memory_pos (M, B, kv_in_dim).

        The last ``num_obj_ptr_tokens`` memory tokens are object pointers (no RoPE). Returns (HW, B, C).
        """
        if isinstance(curr, list):
            curr, curr_pos = curr[0], curr_pos[0]  # the reference passes one-element lists
        assert isinstance(curr_pos, Tensor)
        if curr.shape[1] != memory.shape[1]:
            raise ValueError(f"batch sizes differ: frame {curr.shape[1]}, memory {memory.shape[1]}")
        # Promote bf16-stored memories to the frame's dtype rather than fail on the projection.
        memory, memory_pos = memory.to(curr.dtype), memory_pos.to(curr.dtype)
        out = curr + 0.1 * curr_pos if self.pos_enc_at_input else curr
        # (N, B, C) -> (B, N, C)
        out, pos = out.transpose(0, 1), curr_pos.transpose(0, 1)
        memory, memory_pos = memory.transpose(0, 1), memory_pos.transpose(0, 1)
        for layer in self.layers:
            out = layer(out, memory, memory_pos, pos, num_k_exclude_rope=num_obj_ptr_tokens)
        return self.norm(out).transpose(0, 1)

    def forward_shared_frame(self, curr: Tensor, curr_pos: Tensor, memory: Tensor, memory_pos: Tensor,
                             num_obj_ptr_tokens: int = 0) -> Tensor:
        """``forward`` for B objects on one frame: curr/curr_pos (HW, 1, C), memory/memory_pos (M, B, D).

        Until the first cross-attention every object sees the same frame tokens, so the first
        layer's self-attention runs once for the batch instead of once per object (same math).
        Returns (HW, B, C).
        """
        b = memory.shape[1]
        memory, memory_pos = memory.to(curr.dtype), memory_pos.to(curr.dtype)
        out = curr + 0.1 * curr_pos if self.pos_enc_at_input else curr
        out, pos = out.transpose(0, 1), curr_pos.transpose(0, 1)  # (1, HW, C)
        memory, memory_pos = memory.transpose(0, 1), memory_pos.transpose(0, 1)  # (B, M, D)
        first, *rest = self.layers
        out = first.forward_self(out, pos).expand(b, -1, -1)  # (B, HW, C)
        pos = pos.expand(b, -1, -1)
        out = first.forward_cross_mlp(out, memory, memory_pos, pos, num_k_exclude_rope=num_obj_ptr_tokens)
        for layer in rest:
            out = layer(out, memory, memory_pos, pos, num_k_exclude_rope=num_obj_ptr_tokens)
        return self.norm(out).transpose(0, 1)


__all__ = ["MemoryAttention", "MemoryAttentionConfig", "MemoryAttentionLayer"]
