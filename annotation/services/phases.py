"""The data engine's phases, enforced on the server: which tools each phase allows.

- Phase 1, SAM on every frame: clicks and boxes, each frame segmented on its own, and the brush and
  eraser (a mask prompt: the painted mask is the frame's) for pixel-precise edits; no propagation.
- Phase 2, SAM + SAM 2 Mask: clicks and boxes go to SAM on one frame; its mask (or a brush or
  eraser mask) is propagated as a mask; a fix is a new mask on a frame, then propagate again.
- Phase 3, full SAM 2: clicks, boxes and masks on any frame refine through the memory; propagate.
"""

from __future__ import annotations

from dataplatform.errors import ApplicationError
from dataplatform.models import Phase

PROMPT_TOOLS: dict[int, tuple[str, ...]] = {
    Phase.SAM_PER_FRAME: ("click", "box", "mask"),
    Phase.SAM2_MASK: ("click", "box", "mask"),
    Phase.SAM2_FULL: ("click", "box", "mask"),
}
PROPAGATION_PHASES = (Phase.SAM2_MASK, Phase.SAM2_FULL)


def phase_tools(*, phase: int) -> list[str]:
    """Every tool of a phase: its prompt kinds, plus "propagate" where the phase propagates."""
    return [*PROMPT_TOOLS[phase], *(("propagate",) if phase in PROPAGATION_PHASES else ())]


def phase_check_tool(*, phase: int, tool: str) -> None:
    """Refuse (400) a tool outside the phase, naming the phase and the tools it allows."""
    if tool in phase_tools(phase=phase):
        return
    allowed = ", ".join(phase_tools(phase=phase))
    raise ApplicationError(
        f"{Phase(phase).label} does not allow the {tool!r} tool; this task's tools are: {allowed}.",
        {"phase": phase, "tool": tool, "allowed": phase_tools(phase=phase)}, code="wrong_phase")
