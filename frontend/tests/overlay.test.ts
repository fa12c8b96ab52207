import { describe, expect, it } from "vitest";
import { paintDisc, strokeSegment } from "../src/canvas/brush";
import { colorFor, paintOverlay } from "../src/canvas/overlay";
import { decode, encode } from "../src/canvas/rle";

function square(h: number, w: number, x0: number, y0: number, size: number) {
  const m = new Uint8Array(h * w);
  for (let x = x0; x < x0 + size; x++) for (let y = y0; y < y0 + size; y++) m[x * h + y] = 1;
  return encode(m, h, w);
}

describe("overlay painting", () => {
  it("fills the inside, outlines the edge, leaves the rest transparent (row-major RGBA)", () => {
    const h = 10, w = 12;
    const out = new Uint8ClampedArray(h * w * 4);
    paintOverlay(out, h, w, [{ rle: square(h, w, 2, 3, 5), color: [10, 20, 30] }]);
    const px = (x: number, y: number) => Array.from(out.slice((y * w + x) * 4, (y * w + x) * 4 + 4));
    expect(px(0, 0)).toEqual([0, 0, 0, 0]);
    expect(px(2, 3)).toEqual([10, 20, 30, 255]); // corner: outline
    expect(px(4, 5)).toEqual([10, 20, 30, 110]); // inside: fill
    expect(px(7, 5)).toEqual([0, 0, 0, 0]);
  });

  it("the selected object has a white outline; later layers paint over earlier ones", () => {
    const h = 8, w = 8;
    const out = new Uint8ClampedArray(h * w * 4);
    paintOverlay(out, h, w, [
      { rle: square(h, w, 0, 0, 6), color: [200, 0, 0] },
      { rle: square(h, w, 2, 2, 3), color: [0, 200, 0], selected: true },
    ]);
    const o = (2 * w + 2) * 4;
    expect(Array.from(out.slice(o, o + 4))).toEqual([255, 255, 255, 255]);
  });

  it("refuses a mask of another size", () => {
    expect(() => paintOverlay(new Uint8ClampedArray(4 * 4 * 4), 4, 4, [{ rle: square(5, 5, 0, 0, 2), color: [1, 2, 3] }])).toThrow();
  });

  it("colours: hex given by the server wins, else the palette by object number", () => {
    expect(colorFor(3, "#ff8000")).toEqual([255, 128, 0]);
    expect(colorFor(0)).toEqual(colorFor(10));
  });
});

describe("brush", () => {
  it("paints a disc in place and the eraser removes it again", () => {
    const h = 20, w = 20;
    const m = new Uint8Array(h * w);
    paintDisc(m, h, w, 10, 10, 3, 1);
    const painted = m.reduce((a, b) => a + b, 0);
    expect(painted).toBeGreaterThan(20);
    expect(painted).toBeLessThan(40);
    expect(m[10 * h + 10]).toBe(1);
    strokeSegment(m, h, w, [10, 10], [10, 10], 4, 0);
    expect(m.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("a stroke leaves no gaps along its segment and stays inside the frame", () => {
    const h = 10, w = 50;
    const m = new Uint8Array(h * w);
    strokeSegment(m, h, w, [-5, 5], [60, 5], 2, 1);
    for (let x = 0; x < w; x++) expect(m[x * h + 5]).toBe(1);
    expect(decode(encode(m, h, w))).toEqual(m);
  });
});
