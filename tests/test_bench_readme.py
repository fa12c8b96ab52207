"""The README's benchmark tables are what the benches print, whole: each sits between marker
comments, starts with the command, the machine and the date, and has exactly the rows its bench
declares (``bench.rows``, which the benches print from). No bench runs here: they take minutes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import rows
from bench.readme import replace_section, sections
from bench.report import Table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
STAMP = re.compile(r"^`(?:OMP_NUM_THREADS=\d+ )?python -m bench\.(?P<module>\w+)_bench(?: [^`]*)?` — \d+ CPUs, "
                   r"load average [\d.]+ / [\d.]+ / [\d.]+ \(1/5/15 min\) at the end, "
                   r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\.$")


def tables(markdown: str) -> list[list[list[str]]]:
    """The Markdown tables in ``markdown``: each a list of rows of cells, header and rule left out."""
    found: list[list[list[str]]] = []
    block: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            found.append([[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in block[2:]])
            block = []
    return found


def matches(labels: list[str], declared: tuple[str, ...]) -> bool:
    """``labels`` are ``declared`` in order (``<n>`` stands for a number; indentation does not count)."""
    patterns = [re.escape(d.strip()).replace("<n>", r"\d+") for d in declared]
    return len(labels) == len(patterns) and all(re.fullmatch(p, lab) for p, lab in zip(patterns, labels, strict=True))


def section(name: str) -> str:
    found = sections(README)
    assert name in found, f"the README has no <!-- bench:{name} --> section: refresh it with python -m bench.readme"
    stamp = (found[name].strip().splitlines() or [""])[0]
    match = STAMP.match(stamp)
    assert match, f"bench:{name} does not start with the command, machine and date the bench prints: {stamp!r}"
    assert match["module"] == name.split("-")[0], f"bench:{name} holds the output of bench.{match['module']}_bench"
    return found[name]


@pytest.mark.parametrize(("name", "declared"), [("queue", rows.QUEUE), ("click", rows.CLICK),
                                                ("browser", rows.BROWSER), ("undo", rows.UNDO)])
def test_a_readme_bench_table_has_the_rows_its_bench_prints(name: str, declared: tuple[str, ...]) -> None:
    found = tables(section(name))
    assert len(found) == 1, f"bench:{name} should hold one table, not {len(found)}"
    labels = [row[0] for row in found[0]]
    assert matches(labels, declared), f"bench:{name}: README rows {labels}, the bench prints {list(declared)}"


def test_the_readme_ingest_table_has_every_method_for_every_video() -> None:
    (table,) = tables(section("ingest"))
    videos = list(dict.fromkeys(row[0] for row in table))
    assert len(videos) >= 2, "the ingest table should cover the synthetic video and a real one"
    for video in videos:
        methods = [row[1] for row in table if row[0] == video]
        assert matches(methods, rows.INGEST), f"{video}: README rows {methods}, the bench prints {list(rows.INGEST)}"


def test_the_readme_engine_tables_have_the_rows_the_engine_bench_prints() -> None:
    (comparison,) = tables(section("engine"))  # --rss-frames 0: against the reference only
    labels = [row[0] for row in comparison]
    assert matches(labels, rows.ENGINE), f"README rows {labels}, the bench prints {list(rows.ENGINE)}"
    (memory,) = tables(section("engine-rss"))  # --rss-only: the memory run in a process of its own
    labels = [row[0] for row in memory]
    assert labels and matches(labels, rows.ENGINE_RSS * len(labels)), labels


def test_what_a_bench_prints_as_markdown_is_read_back_row_for_row() -> None:
    table = Table(["", "median ms", "p90 ms"])
    for label in rows.CLICK:
        table.add(label, "1.0", "2.0")
    assert matches([row[0] for row in tables(table.markdown())[0]], rows.CLICK)
    assert not matches([row[0] for row in tables(table.markdown())[0]][1:], rows.CLICK)


def test_a_refresh_replaces_only_its_own_section() -> None:
    text = "intro\n<!-- bench:a -->\nold a\n<!-- /bench:a -->\nmiddle\n<!-- bench:b -->\nold b\n<!-- /bench:b -->\n"
    refreshed = replace_section(text, "a", "new a\n\n| x |\n|---|\n| 1 |\n")
    assert refreshed == text.replace("old a", "new a\n\n| x |\n|---|\n| 1 |")
    assert sections(refreshed) == {"a": "new a\n\n| x |\n|---|\n| 1 |\n", "b": "old b\n"}
    with pytest.raises(ValueError, match="bench:c"):
        replace_section(text, "c", "anything")
