"""The embedded demo's synthetic videos (``manage.py demo``): their seeds, sizes and names, with no
Django here, so that ``make screenshots`` can render the same ground truth and click on an object."""

from __future__ import annotations

from engine.synthetic import SyntheticVideo, make_video

# (seed, objects, frames at 24 fps): a few seconds each, so ingest takes moments on a laptop.
DEMO_VIDEOS = [(11, 3, 96), (12, 4, 120), (13, 2, 72)]
DEMO_SIZE = (480, 640)  # height, width


def demo_video_name(seed: int) -> str:
    return f"synthetic-{seed}.mp4"


def demo_video(seed: int) -> SyntheticVideo:
    """The demo video of ``seed``, pixels and ground truth (same seed, same pixels)."""
    objects, frames = next((o, f) for s, o, f in DEMO_VIDEOS if s == seed)
    return make_video(seed, num_frames=frames, height=DEMO_SIZE[0], width=DEMO_SIZE[1], num_objects=objects)
