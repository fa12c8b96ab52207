import { describe, expect, it } from "vitest";
import { clampScale, fit, MAX_SCALE, MIN_SCALE, panBy, pixelAt, toImage, toScreen, zoomAt } from "../src/canvas/viewport";

describe("viewport math", () => {
  it("fits a wide frame centred vertically", () => {
    const v = fit(1920, 1080, 960, 720);
    expect(v.scale).toBe(0.5);
    expect(v.offsetX).toBe(0);
    expect(v.offsetY).toBe((720 - 540) / 2);
  });

  it("screen and image coordinates are inverse maps", () => {
    const v = { scale: 2.5, offsetX: -30, offsetY: 12 };
    const [sx, sy] = toScreen(v, 100, 40);
    expect(toImage(v, sx, sy)).toEqual([100, 40]);
  });

  it("zooming keeps the point under the cursor fixed", () => {
    const v = fit(640, 480, 800, 600);
    const before = toImage(v, 300, 200);
    const z = zoomAt(v, 300, 200, 3);
    const after = toImage(z, 300, 200);
    expect(after[0]).toBeCloseTo(before[0], 9);
    expect(after[1]).toBeCloseTo(before[1], 9);
    expect(z.scale).toBeCloseTo(v.scale * 3);
  });

  it("zoom is clamped, and stays anchored at the limit", () => {
    expect(clampScale(1000)).toBe(MAX_SCALE);
    expect(clampScale(0)).toBe(MIN_SCALE);
    const z = zoomAt({ scale: MAX_SCALE, offsetX: 5, offsetY: 5 }, 100, 100, 2);
    expect(z).toEqual({ scale: MAX_SCALE, offsetX: 5, offsetY: 5 });
  });

  it("pans by screen pixels and finds the pixel under the pointer", () => {
    const v = panBy({ scale: 2, offsetX: 0, offsetY: 0 }, 10, 20);
    expect(pixelAt(v, 11, 21, 100, 100)).toEqual([0, 0]);
    expect(pixelAt(v, 10 + 2 * 99 + 1, 20, 100, 100)).toEqual([99, 0]);
    expect(pixelAt(v, 5, 5, 100, 100)).toBeNull();
  });
});
