"""Where an image point of the workspace's frame canvas is on the page (its viewport's scale and offset)."""

from __future__ import annotations


def canvas_point(page, x: float, y: float) -> tuple[float, float]:
    """The page coordinates of an image point of the frame canvas (``canvas.frame-canvas``)."""
    return tuple(page.evaluate(
        """([x, y]) => {
            const canvas = document.querySelector('canvas.frame-canvas');
            const view = JSON.parse(canvas.dataset.viewport);
            const rect = canvas.getBoundingClientRect();
            return [rect.left + x * view.scale + view.offsetX, rect.top + y * view.scale + view.offsetY];
        }""", [x, y]))
