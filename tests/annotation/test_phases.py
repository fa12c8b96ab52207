"""The phases' tools, enforced on the server (SAM 2 paper, Table 1)."""

from __future__ import annotations

import pytest

from annotation.services.phases import phase_check_tool, phase_tools
from dataplatform.errors import ApplicationError


def test_each_phase_has_its_tools() -> None:
    assert phase_tools(phase=1) == ["click", "box", "mask"]  # SAM on every frame + brush/eraser, no propagation
    assert phase_tools(phase=2) == ["click", "box", "mask", "propagate"]  # SAM + SAM 2 Mask
    assert phase_tools(phase=3) == ["click", "box", "mask", "propagate"]  # full SAM 2


@pytest.mark.parametrize(("phase", "tool"), [(1, "propagate"), (2, "lasso"), (3, "brush")])
def test_a_tool_outside_the_phase_is_refused_naming_the_phase_and_its_tools(phase: int, tool: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        phase_check_tool(phase=phase, tool=tool)
    error = caught.value
    assert error.status_code == 400 and f"Phase {phase}" in error.message and repr(tool) in error.message
    assert error.extra["allowed"] == phase_tools(phase=phase)
    assert ", ".join(phase_tools(phase=phase)) in error.message


@pytest.mark.parametrize("phase", [1, 2, 3])
def test_clicks_and_boxes_are_allowed_in_every_phase(phase: int) -> None:
    for tool in ("click", "box"):
        phase_check_tool(phase=phase, tool=tool)
