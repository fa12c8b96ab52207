"""The README is the front door: it must stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SETTINGS = (ROOT / "dataplatform" / "settings.py").read_text()


def test_every_setting_read_from_the_environment_is_documented_in_the_readme() -> None:
    variables = set(re.findall(r'env(?:_int|_float|_bool|_list|_choice)?\("([A-Z][A-Z0-9_]+)"', SETTINGS))
    assert len(variables) > 30
    missing = sorted(v for v in variables if f"`{v}`" not in README)
    assert missing == [], f"settings missing from the README's configuration table: {missing}"


def test_the_quick_start_is_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^make (\w+)", quick_start, flags=re.MULTILINE)
    assert commands == ["demo", "test"]


def test_screenshots_and_linked_files_exist() -> None:
    for target in re.findall(r"\]\(((?!https?://)[^)#]+)\)", README):
        assert (ROOT / target).exists(), f"the README links to {target}, which is missing"


def test_every_screenshot_has_the_caption_of_the_command_that_takes_it() -> None:
    """``make screenshots`` prints each image with its caption; the README shows exactly that."""
    from browser_harness.screenshots import SHOTS, readme_block

    for shot in SHOTS:
        assert readme_block(shot) in README, f"the README lacks the {shot.name} screenshot or its caption"
    shown = set(re.findall(r"\(docs/screenshots/([\w-]+)\.png\)", README))
    assert shown == {shot.name for shot in SHOTS}, "a README screenshot that `make screenshots` does not take"
