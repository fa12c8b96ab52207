"""``python manage.py engine_report [--project NAME] [--group-by phase|annotator|model_version]``:
the data engine's metrics as a table like the SAM 2 paper's Table 1, with the paper's figures
beside ours (by phase)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotation.selectors.metrics import GROUP_BYS, PAPER_TABLE1, MetricsRow, engine_metrics
from dataplatform.models import Project

DASH = "–"


def _num(value: float | None, digits: int, unit: str = "") -> str:
    return DASH if value is None else f"{value:.{digits}f}{unit}"


def _empty_phase(phase: int) -> MetricsRow:
    return MetricsRow(group_by="phase", key=phase, label=f"phase {phase}", tasks=0, masklets=0, frames=0,
                      time_per_frame_s=None, edited_frames_percent=None, clicks_per_clicked_frame=None,
                      alignment_percent=None, alignment_pairs=0, paper=PAPER_TABLE1[phase])


def metrics_table(rows: list[MetricsRow]) -> list[str]:
    """The rows as aligned text lines (header first)."""
    header = ["group", "tasks", "masklets", "frames", "time/frame", "edited frames", "clicks/clicked frame",
              "aligned (IoU>0.75)", "│", "paper: time/frame", "edited", "clicks", "aligned"]
    lines = [header]
    for row in rows:
        paper = row.paper or {}
        aligned = _num(row.alignment_percent, 1, " %")
        if row.alignment_pairs:
            aligned += f" of {row.alignment_pairs}"
        lines.append([
            row.label, str(row.tasks), str(row.masklets), str(row.frames),
            _num(row.time_per_frame_s, 1, " s"), _num(row.edited_frames_percent, 2, " %"),
            _num(row.clicks_per_clicked_frame, 2), aligned, "│",
            _num(paper.get("time_per_frame_s"), 1, " s"), _num(paper.get("edited_frames_percent"), 2, " %"),
            _num(paper.get("clicks_per_clicked_frame"), 2), _num(paper.get("alignment_percent"), 1, " %"),
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for number, line in enumerate(lines):
        cells = [cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(line)]
        out.append("  ".join(cells).rstrip())
        if number == 0:
            out.append("─" * len(out[0]))
    return out


class Command(BaseCommand):
    help = "Print the data engine's metrics (the SAM 2 paper's Table 1 columns) per phase, annotator or model."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", help="Only this project (its name).")
        parser.add_argument("--group-by", choices=GROUP_BYS, default="phase")

    def handle(self, *args, project: str | None = None, group_by: str = "phase", **options) -> None:
        selected = None
        if project:
            selected = Project.objects.filter(name=project).first()
            if selected is None:
                raise CommandError(f"No project is named {project!r}.")
        rows = engine_metrics(group_by=group_by, project=selected)
        if rows and group_by == "phase":  # every phase of the paper's table, ours empty where no work
            present = {row.key for row in rows}
            rows = sorted(rows + [_empty_phase(phase) for phase in PAPER_TABLE1 if phase not in present],
                          key=lambda row: row.key)
        self.stdout.write(f"Data engine report: {selected.name if selected else 'all projects'}, "
                          f"by {group_by.replace('_', ' ')}")
        if not rows:
            self.stdout.write("No submitted task yet.")
            return
        for line in metrics_table(rows):
            self.stdout.write(line)
        self.stdout.write("time/frame: annotation time (first interaction to submit) over annotated frames; "
                          "aligned: mean IoU > 0.75 vs phase-1 masks of the same object. Paper: SAM 2, Table 1.")
