"""The data engine's metrics (the columns of the SAM 2 paper's Table 1), from Interaction rows.

Which work counts. A task counts once it is submitted: its ``submit`` interaction (the last one,
if several) carries its group keys — phase, annotator (the user who submitted) and model version
(the interaction's, else the task's) — and lists the masklets and the revisions submitted
(``payload["masklets"] = [{"masklet": id, "revision": id}, …]``, as ``task_submit`` writes it).
Every column of a group is computed over the same submitted tasks. By label, a task counts in
the group of each label among its submitted masklets (its time and frames in each), its masklets
and clicks in their own label's group only.

The columns, per group:

- ``tasks``: submitted tasks. ``masklets``: submitted masklet revisions. ``frames``: the annotated
  frames of the tasks' videos (``Video.frame_count``), summed over tasks.
- ``time_per_frame_s``: annotation time over annotated frames, ``Σ duration / Σ frames`` over the
  tasks, where a task's duration runs from its first interaction to its submit, by the clients'
  timestamps (``client_timestamp``; the server's where a row has none), never negative. The
  paper's definition with one masklet per task, as its annotators worked.
- ``edited_frames_percent``: ``100 · Σ |edited frames| / Σ annotated frames`` over the submitted
  revisions (``MaskletRevision.edited_frames``; each revision's video's frame count).
- ``clicks_per_clicked_frame``: positive and negative clicks (``click+``, ``click-`` with a frame)
  over clicked frames, where a frame clicked for two objects counts twice (a clicked frame is a
  distinct (task, object, frame); the paper counts per masklet).
- ``alignment_percent``: the share of submitted revisions, outside phase 1, whose masks align with
  the phase-1 masks of the same object (the same masklet: one per video and object number):
  mean per-frame IoU against the latest other phase-1 revision of that masklet > 0.75. Frames
  where both masks are empty are left out of the mean (a masklet empty on both sides throughout
  counts as aligned). ``alignment_pairs``: how many revisions had a phase-1 reference; the
  percentage is empty when none had.

Empty values (``None``) mean "no data", never 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from django.db.models import Count, Min
from django.db.models.functions import Coalesce

from annotation.models import Interaction, MaskletRevision
from dataplatform.models import Project
from engine import rle as rle_ops

GROUP_BYS = ("phase", "annotator", "model_version", "label")
ALIGNMENT_IOU = 0.75
CLICK_KINDS = (Interaction.Kind.CLICK_POSITIVE, Interaction.Kind.CLICK_NEGATIVE)

# The SAM 2 paper's Table 1 (and its alignment scores, §5.1), for reference next to ours.
PAPER_TABLE1: dict[int, dict[str, float | None]] = {
    1: {"time_per_frame_s": 37.8, "edited_frames_percent": 100.0, "clicks_per_clicked_frame": 4.80,
        "alignment_percent": None},
    2: {"time_per_frame_s": 7.4, "edited_frames_percent": 23.25, "clicks_per_clicked_frame": 3.61,
        "alignment_percent": 86.4},
    3: {"time_per_frame_s": 4.5, "edited_frames_percent": 19.04, "clicks_per_clicked_frame": 2.68,
        "alignment_percent": 89.1},
}


@dataclass
class _Group:
    key: int | None
    label: str
    tasks: int = 0
    frames: int = 0
    seconds: float = 0.0
    clicks: int = 0
    clicked_frames: int = 0
    revisions: set[int] = field(default_factory=set)


@dataclass
class MetricsRow:
    group_by: str
    key: int | None
    label: str
    tasks: int
    masklets: int
    frames: int
    time_per_frame_s: float | None
    edited_frames_percent: float | None
    clicks_per_clicked_frame: float | None
    alignment_percent: float | None
    alignment_pairs: int
    paper: dict[str, float | None] | None

    def as_dict(self) -> dict:
        return asdict(self)


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return scale * numerator / denominator if denominator else None


def mean_frame_iou(masks: dict[str, dict], reference: dict[str, dict]) -> float:
    """Mean IoU over the frames where either mask is non-empty (1.0 when there are none)."""
    ious = []
    for frame in set(masks) | set(reference):
        a, b = masks.get(frame), reference.get(frame)
        if a is None or b is None:
            a_empty = a is None or rle_ops.area(a) == 0
            b_empty = b is None or rle_ops.area(b) == 0
            if not (a_empty and b_empty):
                ious.append(0.0)
            continue
        if rle_ops.area(a) == 0 and rle_ops.area(b) == 0:
            continue
        ious.append(rle_ops.iou(a, b))
    return sum(ious) / len(ious) if ious else 1.0


def _alignment(revision_ids: Iterable[int]) -> dict[int, bool]:
    """Submitted revision id → aligned with its phase-1 reference, for those outside phase 1 that
    have one. Loads masks one pair at a time."""
    submitted = {row["id"]: row for row in MaskletRevision.objects.filter(pk__in=list(revision_ids))
                 .exclude(phase=1).values("id", "masklet_id", "number")}
    if not submitted:
        return {}
    references: dict[int, list[tuple[int, int]]] = defaultdict(list)  # masklet → [(number, id)]
    for row in (MaskletRevision.objects.filter(masklet_id__in={r["masklet_id"] for r in submitted.values()},
                                               phase=1).values("id", "masklet_id", "number")):
        references[row["masklet_id"]].append((row["number"], row["id"]))
    aligned: dict[int, bool] = {}
    for revision_id, row in submitted.items():
        others = [item for item in references.get(row["masklet_id"], []) if item[1] != revision_id]
        if not others:
            continue
        reference_id = max(others)[1]
        masks = dict(MaskletRevision.objects.filter(pk__in=[revision_id, reference_id]).values_list("id", "masks"))
        aligned[revision_id] = mean_frame_iou(masks[revision_id], masks[reference_id]) > ALIGNMENT_IOU
    return aligned


def engine_metrics(*, group_by: str = "phase", project: Project | None = None) -> list[MetricsRow]:
    """One row per phase, annotator or model version (``group_by``), over submitted tasks
    (of ``project`` when given). See the module docstring for each column's definition."""
    if group_by not in GROUP_BYS:
        raise ValueError(f"group_by must be one of {GROUP_BYS}, got {group_by!r}")
    submits = Interaction.objects.filter(kind=Interaction.Kind.SUBMIT)
    if project is not None:
        submits = submits.filter(task__video__project=project)
    last_submit: dict[int, dict] = {}
    for row in submits.order_by("server_timestamp", "id").values(
            "task_id", "user_id", "user__username", "phase", "model_version_id", "model_version__name",
            "task__model_version_id", "task__model_version__name", "client_timestamp", "server_timestamp",
            "payload", "task__video__frame_count"):
        last_submit[row["task_id"]] = row
    if not last_submit:
        return []

    task_ids = list(last_submit)
    starts = dict(Interaction.objects.filter(task_id__in=task_ids).values("task_id")
                  .annotate(start=Min(Coalesce("client_timestamp", "server_timestamp")))
                  .values_list("task_id", "start"))
    clicks: dict[int, list[tuple[int, int]]] = defaultdict(list)  # task → (object, clicks) per clicked frame
    for row in (Interaction.objects.filter(task_id__in=task_ids, kind__in=CLICK_KINDS, frame_index__isnull=False)
                .values("task_id", "object_number", "frame_index").annotate(n=Count("id")).order_by()):
        clicks[row["task_id"]].append((row["object_number"], row["n"]))

    submitted_revisions = {task_id: [item["revision"] for item in (submit["payload"] or {}).get("masklets", [])
                                     if isinstance(item, dict) and isinstance(item.get("revision"), int)]
                           for task_id, submit in last_submit.items()}
    # By label: a revision's masklet's label (and object, for its clicks).
    labelled = {row[0]: row[1:] for row in MaskletRevision.objects.filter(
        pk__in=set().union(*map(set, submitted_revisions.values()))).values_list(
        "id", "masklet__label_id", "masklet__label__name", "masklet__object_number")} if group_by == "label" else {}

    groups: dict[int | None, _Group] = {}
    for task_id, submit in last_submit.items():
        # (key, label, revisions, objects whose clicks count: None for all)
        parts: list[tuple[int | None, str, list[int], set[int] | None]] = []
        revisions = submitted_revisions[task_id]
        if group_by == "phase":
            parts.append((submit["phase"], f"phase {submit['phase']}", revisions, None))
        elif group_by == "annotator":
            parts.append((submit["user_id"], submit["user__username"], revisions, None))
        elif group_by == "model_version":
            parts.append((submit["model_version_id"] or submit["task__model_version_id"],
                          submit["model_version__name"] or submit["task__model_version__name"] or "unrecorded",
                          revisions, None))
        else:  # a task with objects of two labels counts in both (its time and frames too)
            by_label: dict[int, tuple[str, list[int], set[int]]] = {}
            for revision in revisions:
                if revision in labelled:
                    label_id, name, number = labelled[revision]
                    entry = by_label.setdefault(label_id, (name, [], set()))
                    entry[1].append(revision)
                    entry[2].add(number)
            parts.extend((key, name, revs, objects) for key, (name, revs, objects) in by_label.items())
        for key, label, revs, objects in parts:
            group = groups.setdefault(key, _Group(key=key, label=label))
            group.tasks += 1
            group.frames += submit["task__video__frame_count"] or 0
            end = submit["client_timestamp"] or submit["server_timestamp"]
            start = starts.get(task_id, end)
            group.seconds += max(0.0, (end - start).total_seconds())
            counted = [n for number, n in clicks.get(task_id, []) if objects is None or number in objects]
            group.clicks += sum(counted)
            group.clicked_frames += len(counted)
            group.revisions.update(revs)

    all_revisions = set().union(*(g.revisions for g in groups.values()))
    edited = {row["id"]: row for row in MaskletRevision.objects.filter(pk__in=all_revisions)
              .values("id", "edited_frames", "masklet__video__frame_count")}
    aligned = _alignment(all_revisions)

    rows = []
    for key in sorted(groups, key=lambda k: (k is None, k or 0)):
        group = groups[key]
        revisions = [edited[r] for r in group.revisions if r in edited]
        edited_frames = sum(len(set(r["edited_frames"] or [])) for r in revisions)
        annotated = sum(r["masklet__video__frame_count"] or 0 for r in revisions)
        pairs = [aligned[r] for r in group.revisions if r in aligned]
        rows.append(MetricsRow(
            group_by=group_by, key=key, label=group.label, tasks=group.tasks, masklets=len(revisions),
            frames=group.frames,
            time_per_frame_s=_ratio(group.seconds, group.frames),
            edited_frames_percent=_ratio(edited_frames, annotated, 100.0),
            clicks_per_clicked_frame=_ratio(group.clicks, group.clicked_frames),
            alignment_percent=_ratio(sum(pairs), len(pairs), 100.0),
            alignment_pairs=len(pairs),
            paper=PAPER_TABLE1.get(key) if group_by == "phase" else None,
        ))
    return rows
