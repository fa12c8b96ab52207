"""How a bench prints its results: aligned text for a terminal, or Markdown for the README.

Markdown output starts with the command that made it, the machine (CPUs, load average at the
end) and the date, so a table in the README says where it came from; ``python -m bench.readme``
embeds it whole between the README's marker comments. Row labels come from ``bench.rows``, which
``tests/test_bench_readme.py`` compares with the README's tables.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Table:
    """A header and rows of cells; the first ``left`` columns are left-aligned, the rest right."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    left: int = 1

    def add(self, *cells: str) -> None:
        if len(cells) != len(self.header):
            raise ValueError(f"{len(cells)} cells for {len(self.header)} columns: {cells}")
        self.rows.append(list(cells))

    def text(self) -> str:
        lines = [self.header, *self.rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(self.header))]

        def render(line: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) if i < self.left else c.rjust(w)
                             for i, (c, w) in enumerate(zip(line, widths, strict=True))).rstrip()

        return "\n".join([render(self.header), "  ".join("-" * w for w in widths), *map(render, self.rows)])

    def markdown(self) -> str:
        def render(line: Sequence[str]) -> str:
            return "| " + " | ".join(c.strip().replace("|", "\\|") for c in line) + " |"

        rule = "|" + "|".join(":---" if i < self.left else "---:" for i in range(len(self.header))) + "|"
        return "\n".join([render(self.header), rule, *map(render, self.rows)])


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--markdown", action="store_true",
                        help="print Markdown with the command, the machine and the date (for the README)")


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return f"{os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min) at the end"


def command(module: str, argv: Sequence[str] | None = None) -> str:
    env = " ".join(f"{name}={os.environ[name]}" for name in ("OMP_NUM_THREADS",) if name in os.environ)
    words = ["python", "-m", module, *(sys.argv[1:] if argv is None else argv)]
    return (env + " " if env else "") + shlex.join(words)


def emit(module: str, *, markdown: bool, title: str, tables: Sequence[Table], notes: Sequence[str] = ()) -> None:
    """Print the title, the tables and the notes below them (a note per line), as text or Markdown."""
    if not markdown:
        print(f"\n{title}\n")
        for table in tables:
            print(table.text(), end="\n\n")
        for note in notes:
            print(note)
        print(machine() + ".")
        return
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"`{command(module)}` — {machine()}, {stamp}.\n")
    print(f"{title}\n")
    for table in tables:
        print(table.markdown(), end="\n\n")
    for note in notes:
        print(f"- {note}")
