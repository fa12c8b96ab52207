"""The verifier's signals of each revision (``engine.verifier.revision_signals``), recorded when the
revision is made; a revision made before the engine recorded them gets what its masks give,
computed when the verifier first needs it (``revision_signals_ensure``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from annotation.models import MaskletRevision, RevisionSignals
from engine.verifier import revision_signals

SCORE_NAMES = ("predicted_iou", "object_score", "stability")


def engine_scores(value: Any) -> dict[str, float | None]:
    """An engine's scores of one mask as stored (a prompt's answer): the known names only, each a
    finite float or ``None``; anything else (no scores, another shape) gives an empty dict."""
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, float | None] = {}
    for name in SCORE_NAMES:
        number = value.get(name)
        if isinstance(number, int | float) and not isinstance(number, bool) and np.isfinite(number):
            out[name] = float(number)
        elif name in value:
            out[name] = None
    return out


def revision_frame_scores(*, revision_id: int | None) -> dict[int, dict[str, float | None]]:
    """The engine's per-frame scores stored with a revision's signals ({frame: scores}, only the
    frames that have one): what a later revision keeps for the frames whose masks it keeps."""
    row = RevisionSignals.objects.filter(revision_id=revision_id).values_list("signals", flat=True).first()
    if not row:
        return {}
    frames = row.get("frames") or []
    out: dict[int, dict[str, float | None]] = {}
    for name in SCORE_NAMES:
        for frame, value in zip(frames, row.get(name) or [], strict=False):
            if value is not None:
                out.setdefault(int(frame), {})[name] = value
    return out


def revision_signals_record(*, revision: MaskletRevision, kind: str,
                            frame_scores: Mapping[Any, Mapping[str, float | None]] | None = None,
                            backward_masks: Mapping[Any, dict] | None = None,
                            prompts: int | None = None) -> RevisionSignals:
    """Store the signals of a revision just made (in the caller's transaction)."""
    recorded_by = RevisionSignals.RecordedBy.ENGINE if frame_scores else RevisionSignals.RecordedBy.MASKS
    signals = revision_signals(revision.masks, frame_scores=frame_scores, backward_masks=backward_masks,
                               edited_frames=revision.edited_frames, edited_count=revision.edited_frame_count,
                               phase=revision.phase, kind=kind, prompts=prompts, recorded_by=recorded_by)
    return RevisionSignals.objects.create(revision=revision, recorded_by=recorded_by, signals=signals)


def revision_signals_ensure(*, revision_ids: Iterable[int]) -> dict[int, dict]:
    """The signals of each revision, recomputing from the masks those that have none (older
    revisions, from before the engine recorded them). Returns {revision id: signals}."""
    ids = sorted(set(revision_ids))
    found = dict(RevisionSignals.objects.filter(revision_id__in=ids).values_list("revision_id", "signals"))
    missing = [i for i in ids if i not in found]
    for start in range(0, len(missing), 100):
        for revision in MaskletRevision.objects.filter(pk__in=missing[start:start + 100]).select_related("masklet"):
            signals = revision_signals(revision.masks, edited_frames=revision.edited_frames,
                                       edited_count=revision.edited_frame_count, phase=revision.phase,
                                       kind=revision.masklet.kind, recorded_by=RevisionSignals.RecordedBy.MASKS,
                                       frame_scores={i: {"stability": v} for i, v in
                                                     enumerate(revision.stability_scores or []) if v is not None})
            row, _ = RevisionSignals.objects.get_or_create(
                revision=revision, defaults={"recorded_by": RevisionSignals.RecordedBy.MASKS, "signals": signals})
            found[revision.pk] = row.signals
    return found
