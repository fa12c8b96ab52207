"""Evaluation of masklets: J&F as the SA-V evaluator computes it.

from engine.evaluation import evaluate_video, aggregate
scores = aggregate([evaluate_video(gt, pred, name=v) for v, (gt, pred) in videos.items()])
print(f"J&F {scores.jf:.1f}  J {scores.j:.1f}  F {scores.f:.1f}")
"""

from engine.evaluation.boundary import boundary_f, boundary_map, boundary_tolerance, dilate, disk
from engine.evaluation.jf import ObjectScore, Scores, VideoScores, aggregate, evaluate_video, frame_iou
from engine.evaluation.sav import masklets_from_sav

__all__ = [
    "ObjectScore",
    "Scores",
    "VideoScores",
    "aggregate",
    "boundary_f",
    "boundary_map",
    "boundary_tolerance",
    "dilate",
    "disk",
    "evaluate_video",
    "frame_iou",
    "masklets_from_sav",
]
