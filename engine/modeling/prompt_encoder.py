"""SAM's prompt encoder: points and box corners -> sparse tokens; a low-res mask -> a dense map."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.modeling.common import LayerNorm2d
from engine.modeling.position_encoding import PositionEmbeddingRandom

# Point labels: -1 padding ("not a point"), 0 negative, 1 positive, 2 box top-left, 3 box bottom-right.
NUM_POINT_EMBEDDINGS = 4


@dataclass(frozen=True)
class PromptEncoderConfig:
    mask_in_chans: int = 16  # hidden width of the mask downscaler


class PromptEncoder(nn.Module):
    """Encodes prompts for the mask decoder.

    forward(points=(coords (B, N, 2) in input-image pixels, labels (B, N)), boxes (B, 4) or None,
    masks (B, 1, 4h, 4w) logits or None) -> (sparse (B, N', C), dense (B, C, h, w)), where (h, w)
    is the image-embedding size (image_size / 16) and C the embedding width.
    """

    def __init__(
        self,
        embed_dim: int,
        image_embedding_size: tuple[int, int],
        input_image_size: tuple[int, int],
        mask_in_chans: int,
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.input_image_size = input_image_size
        self.image_embedding_size = image_embedding_size
        self.pe_layer = PositionEmbeddingRandom(embed_dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(NUM_POINT_EMBEDDINGS))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        # The mask prompt is at 4x the embedding resolution (256x256 at 1024 px); two stride-2
        # convs bring it down to the embedding grid.
        self.mask_input_size = (4 * image_embedding_size[0], 4 * image_embedding_size[1])
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans // 4),
            nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans),
            nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def get_dense_pe(self) -> torch.Tensor:
        """(1, C, h, w): the encoding of every cell of the image-embedding grid."""
        return self.pe_layer(self.image_embedding_size).unsqueeze(0)

    def _embed_points(self, points: torch.Tensor, labels: torch.Tensor, pad: bool) -> torch.Tensor:
        points = points + 0.5  # pixel centres
        if pad:
            # A "not a point" token, as SAM was trained with when no box follows the points.
            points = torch.cat([points, torch.zeros((points.shape[0], 1, 2), device=points.device)], dim=1)
            labels = torch.cat([labels, -torch.ones((labels.shape[0], 1), device=labels.device)], dim=1)
        embedding = self.pe_layer.forward_with_coords(points, self.input_image_size)  # (B, N, C)
        labels = labels.unsqueeze(-1)
        embedding = torch.where(
            labels == -1, torch.zeros_like(embedding) + self.not_a_point_embed.weight, embedding
        )
        for label in range(NUM_POINT_EMBEDDINGS):
            embedding = torch.where(
                labels == label, embedding + self.point_embeddings[label].weight, embedding
            )
        return embedding

    def _embed_boxes(self, boxes: torch.Tensor) -> torch.Tensor:
        corners = (boxes + 0.5).reshape(-1, 2, 2)  # (B, 4) -> (B, 2 corners, 2)
        embedding = self.pe_layer.forward_with_coords(corners, self.input_image_size)
        embedding[:, 0, :] += self.point_embeddings[2].weight
        embedding[:, 1, :] += self.point_embeddings[3].weight
        return embedding

    def forward(
        self,
        points: tuple[torch.Tensor, torch.Tensor] | None,
        boxes: torch.Tensor | None,
        masks: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if points is not None:
            batch = points[0].shape[0]
        elif boxes is not None:
            batch = boxes.shape[0]
        elif masks is not None:
            batch = masks.shape[0]
        else:
            batch = 1
        weight = self.point_embeddings[0].weight
        sparse = torch.empty((batch, 0, self.embed_dim), device=weight.device, dtype=weight.dtype)
        if points is not None:
            sparse = torch.cat([sparse, self._embed_points(points[0], points[1], pad=boxes is None)], dim=1)
        if boxes is not None:
            sparse = torch.cat([sparse, self._embed_boxes(boxes)], dim=1)
        if masks is not None:
            dense = self.mask_downscaling(masks)
        else:
            h, w = self.image_embedding_size
            dense = self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(batch, -1, h, w)
        return sparse, dense
