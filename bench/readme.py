"""Refresh a bench's section of the README with what the bench printed, whole.

    python -m bench.readme NAME [BENCH ARGS ...]        # runs python -m bench.NAME_bench --markdown ARGS
    python -m bench.readme NAME --from FILE             # embeds FILE, a saved ``--markdown`` output
                                                        # (of a bench, or of any command, e.g. the flywheel's)

A section lies between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` in README.md;
everything between the two markers is replaced, nothing else is touched. ``NAME-PART`` (e.g.
``engine-rss``) is another section for the same bench, run with other arguments. Benches take minutes and
the machine may be shared: run a long one in the background, save its output, embed it with ``--from``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
SECTION = re.compile(r"(<!-- bench:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /bench:(?P=name) -->)", re.DOTALL)


def sections(text: str) -> dict[str, str]:
    """Each bench section's name and the text between its markers."""
    return {match["name"]: match["body"] for match in SECTION.finditer(text)}


def replace_section(text: str, name: str, body: str) -> str:
    """``text`` with section ``name``'s content replaced by ``body``; ValueError if it has no such section."""
    found = [m for m in SECTION.finditer(text) if m["name"] == name]
    if len(found) != 1:
        raise ValueError(f"README.md needs exactly one <!-- bench:{name} --> ... <!-- /bench:{name} --> pair "
                         f"(found {len(found)}).")
    match = found[0]
    return text[:match.start("body")] + body.strip("\n") + "\n" + text[match.end("body"):]


def bench_output(name: str, args: list[str]) -> str:
    """What ``python -m bench.NAME_bench --markdown ARGS`` prints (its progress and logs go to stderr)."""
    module = f"bench.{name.split('-')[0]}_bench"
    done = subprocess.run([sys.executable, "-m", module, "--markdown", *args], cwd=REPO_ROOT,
                          stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{module} failed (exit {done.returncode}); the README is unchanged.")
    return done.stdout


def main(argv: list[str]) -> None:
    if not argv or argv[0].startswith("-"):
        raise SystemExit(__doc__)
    name, rest = argv[0], argv[1:]
    if rest[:1] == ["--from"]:
        if len(rest) != 2:
            raise SystemExit("--from takes one file: the bench's saved --markdown output.")
        body = Path(rest[1]).read_text()
    else:
        body = bench_output(name, rest)
    try:
        README.write_text(replace_section(README.read_text(), name, body))
    except ValueError as error:
        raise SystemExit(str(error)) from None
    print(f"README.md: section bench:{name} refreshed.")


if __name__ == "__main__":
    main(sys.argv[1:])
