"""Fixtures for the annotation tests: the platform's users, clients and rows (from
``tests/dataplatform/conftest.py``), plus ready videos and masklets with masks, made through the
real services.

- ``ready_video``: a ready 3-frame 64×48 video in ``project``.
- ``masklet_factory(video, *, author=None, phase=3, kind="manual", masks=None, edited_frames=(),
  status=None)``: a masklet with one revision (masks default to empty frames).
- ``box_mask(x0, y0, x1, y1)``: the COCO RLE of a filled box on a 64×48 frame.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from annotation.models import Masklet
from annotation.services.masklets import masklet_create, masklet_revision_create
from dataplatform.models import Video
from engine import rle as rle_ops
from tests.dataplatform.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    admin_user,
    annotator,
    anon_client,
    api_client_for,
    error_of,
    project,
    reviewer,
    user_factory,
    video_factory,
)

WIDTH, HEIGHT = 64, 48


def box_mask(x0: int, y0: int, x1: int, y1: int) -> dict:
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return rle_ops.encode(mask)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Users are made by the hundred here; PBKDF2 would spend minutes hashing their passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ready_video(video_factory) -> Video:  # noqa: F811 - the fixture imported above
    return video_factory(ready=True)


@pytest.fixture
def masklet_factory(db) -> Callable[..., Masklet]:
    def make(video: Video, *, author=None, phase: int | None = 3, kind: str = Masklet.Kind.MANUAL,
             masks: dict | None = None, edited_frames=(), status: str | None = None,
             masklet: Masklet | None = None) -> Masklet:
        masklet = masklet or masklet_create(video=video, kind=kind)
        masklet_revision_create(masklet=masklet, masks=masks or {}, author=author, phase=phase,
                                edited_frames=edited_frames)
        if status is not None:
            Masklet.objects.filter(pk=masklet.pk).update(status=status)
        masklet.refresh_from_db()
        return masklet

    return make
