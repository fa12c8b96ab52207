/**
 * Point markers: the clicks placed on the frame in view, a green + for a positive click and a red −
 * for a negative one, drawn over the overlay at a constant size on screen whatever the zoom.
 * `markerShapes` is the drawing state (pure, tested); `drawMarkers` paints it.
 */
import type { Viewport } from "./viewport";

/** A click prompt the owner of the canvas knows about (it sent it). */
export interface PointPrompt {
  frameIndex: number;
  objectNumber: number;
  point: [number, number];
  label: 0 | 1;
}

export interface MarkerShape {
  sign: "+" | "-";
  /** Centre, in image pixels. */
  x: number;
  y: number;
  /** Half the arm's length and the stroke width, in image pixels (constant on screen). */
  half: number;
  lineWidth: number;
  color: string;
  /** Markers of other objects than the selected one are drawn fainter. */
  faded: boolean;
}

export const POSITIVE_COLOR = "#00e676";
export const NEGATIVE_COLOR = "#ff1744";
const HALF_ARM_PX = 7; // on screen
const LINE_PX = 3;

export function markerShapes(points: readonly PointPrompt[], frameIndex: number, view: Viewport,
  selected: number | null, hidden: ReadonlySet<number> = new Set()): MarkerShape[] {
  return points
    .filter((p) => p.frameIndex === frameIndex && !hidden.has(p.objectNumber))
    .map((p) => ({
      sign: p.label === 1 ? "+" : "-",
      x: p.point[0],
      y: p.point[1],
      half: HALF_ARM_PX / view.scale,
      lineWidth: LINE_PX / view.scale,
      color: p.label === 1 ? POSITIVE_COLOR : NEGATIVE_COLOR,
      faded: selected !== null && p.objectNumber !== selected,
    }));
}

/** Paints the markers; the context's transform maps image pixels to the screen. */
export function drawMarkers(ctx: CanvasRenderingContext2D, shapes: readonly MarkerShape[]): void {
  ctx.save();
  ctx.lineCap = "round";
  for (const m of shapes) {
    ctx.globalAlpha = m.faded ? 0.45 : 1;
    const path = new Path2D();
    path.moveTo(m.x - m.half, m.y);
    path.lineTo(m.x + m.half, m.y);
    if (m.sign === "+") {
      path.moveTo(m.x, m.y - m.half);
      path.lineTo(m.x, m.y + m.half);
    }
    ctx.strokeStyle = "rgba(0, 0, 0, 0.75)"; // a dark halo: visible on bright frames and masks
    ctx.lineWidth = m.lineWidth * 2;
    ctx.stroke(path);
    ctx.strokeStyle = m.color;
    ctx.lineWidth = m.lineWidth;
    ctx.stroke(path);
  }
  ctx.restore();
}
