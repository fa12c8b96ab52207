"""The admin dashboard's figures besides Table 1: throughput per day, acceptance rates, and
automatic against manual masklets.

- **Throughput**, one row per day of the window (the last ``days`` days up to today, in the
  platform's time zone; days without work are rows of zeros):
  ``masklets_submitted``: the masklets listed by the tasks' submits that day (a task's last
  ``submit`` interaction counts, dated by the server's clock, as the Table 1 metrics count a task
  once); ``frames_annotated``: the annotated frames of those tasks' videos (``Video.frame_count``);
  ``masklets_accepted``: accept decisions (Review rows) made that day.
- **Acceptance rates**: ``accepted / decided`` over the decisions (Review rows) made in the window,
  per phase of the decided revision (``None``: a revision with no recorded phase, e.g. imported)
  and per kind of masklet (manual, auto). ``rate`` is ``None`` where nothing was decided.
- **Automatic against manual**: masklets per kind and current status (a snapshot, not windowed).

Everything is restricted to ``project``'s videos when one is given.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from annotation.models import Interaction, Masklet, Review
from dataplatform.models import Project

MAX_DAYS = 366


@dataclass
class ThroughputDay:
    date: date
    masklets_submitted: int = 0
    masklets_accepted: int = 0
    frames_annotated: int = 0


@dataclass
class AcceptanceRow:
    key: int | str | None
    label: str
    accepted: int
    rejected: int
    decided: int
    rate: float | None


@dataclass
class KindStatusRow:
    kind: str
    draft: int
    submitted: int
    accepted: int
    rejected: int
    total: int


@dataclass
class Dashboard:
    days: int
    start: date
    end: date
    throughput: list[ThroughputDay]
    acceptance_by_phase: list[AcceptanceRow]
    acceptance_by_kind: list[AcceptanceRow]
    masklets_by_kind: list[KindStatusRow]

    def as_dict(self) -> dict:
        return asdict(self)


def _window(days: int, today: date | None) -> tuple[date, date]:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, got {days}")
    end = today or timezone.localdate()
    return end - timedelta(days=days - 1), end


def throughput_by_day(*, days: int = 30, project: Project | None = None,
                      today: date | None = None) -> list[ThroughputDay]:
    """One row per day of the window, oldest first: masklets submitted and accepted, frames annotated."""
    start, end = _window(days, today)
    rows = {start + timedelta(days=i): ThroughputDay(date=start + timedelta(days=i)) for i in range(days)}
    submits = Interaction.objects.filter(kind=Interaction.Kind.SUBMIT)
    reviews = Review.objects.filter(decision=Review.Decision.ACCEPT)
    if project is not None:
        submits = submits.filter(task__video__project=project)
        reviews = reviews.filter(revision__masklet__video__project=project)
    last_submit: dict[int, dict] = {}  # task → its last submit (of any day: a later one replaces it)
    for row in (submits.annotate(day=TruncDate("server_timestamp")).order_by("server_timestamp", "id")
                .values("task_id", "day", "payload", "task__video__frame_count")):
        last_submit[row["task_id"]] = row
    for row in last_submit.values():
        day = rows.get(row["day"])
        if day is None:
            continue
        listed = (row["payload"] or {}).get("masklets", [])
        day.masklets_submitted += len({item.get("masklet") for item in listed if isinstance(item, dict)})
        day.frames_annotated += row["task__video__frame_count"] or 0
    accepted = (reviews.annotate(day=TruncDate("created_at")).filter(day__gte=start, day__lte=end)
                .values("day").annotate(n=Count("id")).order_by())
    for row in accepted:
        rows[row["day"]].masklets_accepted = row["n"]
    return list(rows.values())


def _acceptance(counts: dict, key, label: str) -> AcceptanceRow:
    accepted = counts.get((key, Review.Decision.ACCEPT), 0)
    rejected = counts.get((key, Review.Decision.REJECT), 0)
    decided = accepted + rejected
    return AcceptanceRow(key=key, label=label, accepted=accepted, rejected=rejected, decided=decided,
                         rate=accepted / decided if decided else None)


def acceptance_rates(*, days: int = 30, project: Project | None = None,
                     today: date | None = None) -> tuple[list[AcceptanceRow], list[AcceptanceRow]]:
    """Accepted over decided, per phase of the decided revision and per kind of masklet, over the
    decisions of the window. Phases 1–3 and both kinds always have a row; other phases (none
    recorded) only when decided."""
    start, end = _window(days, today)
    reviews = (Review.objects.annotate(day=TruncDate("created_at")).filter(day__gte=start, day__lte=end))
    if project is not None:
        reviews = reviews.filter(revision__masklet__video__project=project)
    by_phase: Counter = Counter()
    by_kind: Counter = Counter()
    for row in (reviews.values("decision", "revision__phase", "revision__masklet__kind")
                .annotate(n=Count("id")).order_by()):
        by_phase[(row["revision__phase"], row["decision"])] += row["n"]
        by_kind[(row["revision__masklet__kind"], row["decision"])] += row["n"]
    others = {p for p, _ in by_phase if p not in (1, 2, 3)}
    phases = [1, 2, 3] + sorted(others, key=lambda p: (p is None, p or 0))
    phase_rows = [_acceptance(by_phase, p, f"phase {p}" if p is not None else "unrecorded") for p in phases]
    kind_rows = [_acceptance(by_kind, k.value, k.label) for k in Masklet.Kind]
    return phase_rows, kind_rows


def masklets_by_kind(*, project: Project | None = None) -> list[KindStatusRow]:
    """Masklets per kind (manual, auto) and current status."""
    masklets = Masklet.objects.all()
    if project is not None:
        masklets = masklets.filter(video__project=project)
    counts = Counter({(r["kind"], r["status"]): r["n"]
                      for r in masklets.values("kind", "status").annotate(n=Count("id")).order_by()})
    rows = []
    for kind in Masklet.Kind:
        per_status = {s.value: counts.get((kind.value, s.value), 0) for s in Masklet.Status}
        rows.append(KindStatusRow(kind=kind.value, total=sum(per_status.values()), **per_status))
    return rows


def dashboard(*, days: int = 30, project: Project | None = None, today: date | None = None) -> Dashboard:
    """Everything the dashboard draws besides Table 1 (see the module docstring)."""
    start, end = _window(days, today)
    by_phase, by_kind = acceptance_rates(days=days, project=project, today=end)
    return Dashboard(days=days, start=start, end=end,
                     throughput=throughput_by_day(days=days, project=project, today=end),
                     acceptance_by_phase=by_phase, acceptance_by_kind=by_kind,
                     masklets_by_kind=masklets_by_kind(project=project))
