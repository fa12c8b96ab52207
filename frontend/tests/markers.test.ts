import { describe, expect, it } from "vitest";
import { markerShapes, NEGATIVE_COLOR, POSITIVE_COLOR, type PointPrompt } from "../src/canvas/markers";

const points: PointPrompt[] = [
  { frameIndex: 3, objectNumber: 0, point: [10, 20], label: 1 },
  { frameIndex: 3, objectNumber: 0, point: [30, 40], label: 0 },
  { frameIndex: 4, objectNumber: 0, point: [50, 60], label: 1 },
  { frameIndex: 3, objectNumber: 1, point: [70, 80], label: 1 },
];

describe("point markers", () => {
  it("draws the clicks of the frame in view only: green + for positive, red − for negative", () => {
    const shapes = markerShapes(points, 3, { scale: 1, offsetX: 0, offsetY: 0 }, 0);
    expect(shapes.map((m) => [m.sign, m.x, m.y, m.color])).toEqual([
      ["+", 10, 20, POSITIVE_COLOR], ["-", 30, 40, NEGATIVE_COLOR], ["+", 70, 80, POSITIVE_COLOR]]);
    expect(markerShapes(points, 5, { scale: 1, offsetX: 0, offsetY: 0 }, 0)).toEqual([]);
  });

  it("fades other objects' markers and leaves hidden objects out", () => {
    const shapes = markerShapes(points, 3, { scale: 1, offsetX: 0, offsetY: 0 }, 1, new Set([0]));
    expect(shapes).toHaveLength(1);
    expect(shapes[0]).toMatchObject({ x: 70, faded: false });
    expect(markerShapes(points, 3, { scale: 1, offsetX: 0, offsetY: 0 }, 0).map((m) => m.faded)).toEqual([false, false, true]);
  });

  it("keeps a constant size on screen whatever the zoom", () => {
    const [near] = markerShapes(points, 4, { scale: 4, offsetX: 5, offsetY: 5 }, null);
    const [far] = markerShapes(points, 4, { scale: 0.5, offsetX: 0, offsetY: 0 }, null);
    expect(near.half * 4).toBeCloseTo(far.half * 0.5);
    expect(near.lineWidth * 4).toBeCloseTo(far.lineWidth * 0.5);
    expect(near.faded).toBe(false);
  });
});
