"""Which top-level packages may import which: the rules a reviewer would otherwise check by hand."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# package -> top-level packages it must never import
FORBIDDEN = {
    "bench": {"tests"},  # a bench is a tool: what it shares with the tests lives in browser_harness/
    "browser_harness": {"tests", "bench"},
    "engine": {"django", "rest_framework", "celery", "dataplatform", "annotation", "workers", "tests", "bench"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every absolute import in a Python file, nested imports included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_never_imports_what_it_must_not(package: str) -> None:
    files = sorted((REPO_ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    wrong = {f"{path.relative_to(REPO_ROOT)} imports {name}"
             for path in files for name in imported_packages(path) & FORBIDDEN[package]}
    assert not wrong, sorted(wrong)


def test_the_import_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "tool.py"
    source.write_text("import os\n\ndef run():\n    from tests.e2e.seed import frame_jpeg\n    import bench.x\n")
    assert imported_packages(source) == {"os", "tests", "bench"}
