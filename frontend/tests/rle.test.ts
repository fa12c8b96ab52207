import { describe, expect, it } from "vitest";
import fixtures from "./fixtures/coco-rle.json";
import { area, bbox, countsFromString, countsToString, decode, empty, encode, isEmpty } from "../src/canvas/rle";

type Case = { name: string; size: [number, number]; counts: string; area: number; bbox: number[]; ones: number[] | null; checksum: number };
const cases = (fixtures as unknown as { cases: Case[] }).cases;

describe("COCO RLE against pycocotools", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s decodes to pycocotools' pixels", (_name, c) => {
    const mask = decode({ size: c.size, counts: c.counts });
    const ones: number[] = [];
    let checksum = 0;
    mask.forEach((v, i) => {
      if (v) {
        checksum += i % 9973;
        if (c.ones) ones.push(i);
      }
    });
    expect(ones.length || mask.reduce((a, b) => a + b, 0)).toBe(c.area);
    if (c.ones) expect(ones).toEqual(c.ones);
    expect(checksum).toBe(c.checksum);
    expect(area({ size: c.size, counts: c.counts })).toBe(c.area);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s re-encodes to the same string", (_name, c) => {
    const mask = decode({ size: c.size, counts: c.counts });
    expect(encode(mask, c.size[0], c.size[1])).toEqual({ size: c.size, counts: c.counts });
  });

  it("bounding boxes agree with pycocotools (x, y, w, h)", () => {
    for (const c of cases.filter((k) => k.area > 0)) {
      const [x0, y0, x1, y1] = bbox(decode({ size: c.size, counts: c.counts }), c.size[0], c.size[1])!;
      expect([x0, y0, x1 - x0 + 1, y1 - y0 + 1]).toEqual(c.bbox);
    }
  });
});

describe("RLE counts", () => {
  it("round-trips large and negative differences", () => {
    const counts = [0, 5_000_000, 1, 3, 40_000_000, 2, 1, 1_000_000_000];
    expect(countsFromString(countsToString(counts))).toEqual(counts);
  });

  it("empty masks are one run of zeros and count as empty", () => {
    expect(countsFromString(empty(4, 5).counts)).toEqual([20]);
    expect(isEmpty(empty(4, 5))).toBe(true);
    expect(isEmpty(encode([0, 1, 0, 0], 2, 2))).toBe(false);
  });

  it("refuses counts that do not cover the size", () => {
    expect(() => decode({ size: [2, 2], counts: countsToString([3]) })).toThrow(/cover/);
    expect(() => decode({ size: [2, 2], counts: countsToString([3, 4]) })).toThrow(/more pixels/);
    expect(() => countsFromString("\u0001")).toThrow(/invalid character/);
  });

  it("decodes into a given buffer without allocating, clearing old pixels", () => {
    const buffer = new Uint8Array(6).fill(1);
    const out = decode(encode([0, 0, 1, 0, 0, 0], 2, 3), buffer);
    expect(out).toBe(buffer);
    expect(Array.from(out)).toEqual([0, 0, 1, 0, 0, 0]);
  });
});
