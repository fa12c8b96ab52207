import { describe, expect, it } from "vitest";
import { csrfToken, withQuery } from "../src/api/client";
import { dayLabel, niceMax, formatValue } from "../src/ui/admin/charts";
import { pushBounded } from "../src/ui/perf";
import { prefetchOrder } from "../src/ui/frames";
import { LruCache } from "../src/ui/lru";
import { tickStep, visibleRange } from "../src/ui/timeline";
import { MaskStore, WINDOW } from "../src/ui/workspace/masks";
import { empty, encode } from "../src/canvas/rle";

describe("virtualised timeline", () => {
  it("draws only the frames in view (1,000 frames, 600 px)", () => {
    expect(visibleRange(0, 600, 6, 1000)).toEqual([0, 102]);
    const [first, last] = visibleRange(3000, 600, 6, 1000);
    expect(first).toBe(498);
    expect(last - first).toBeLessThanOrEqual(105);
    expect(visibleRange(5990, 600, 6, 1000)[1]).toBe(1000);
  });

  it("ticks stay readable", () => {
    expect(tickStep(60)).toBe(1);
    expect(tickStep(6)).toBe(10);
    expect(tickStep(0.5)).toBe(100);
  });
});

describe("bounded caches and prefetch", () => {
  it("evicts the least recently used entry", () => {
    const evicted: number[] = [];
    const cache = new LruCache<number, string>(2, (k) => evicted.push(k));
    cache.set(1, "a");
    cache.set(2, "b");
    cache.get(1);
    cache.set(3, "c");
    expect(evicted).toEqual([2]);
    expect(cache.size).toBe(2);
    expect(cache.has(1) && cache.has(3)).toBe(true);
  });

  it("prefetches ahead before behind, inside the video", () => {
    expect(prefetchOrder(5, 8, 2, 3)).toEqual([5, 6, 4, 7, 3]);
    expect(prefetchOrder(0, 3, 2, 5)).toEqual([0, 1, 2]);
  });
});

describe("mask store", () => {
  it("tracks presence from RLE counts and hand-edited frames", () => {
    const store = new MaskStore(10);
    store.set(1, 3, encode([0, 1, 1, 0], 2, 2), true);
    store.set(1, 4, empty(2, 2));
    expect(Array.from(store.presence.get(1)!.slice(2, 6))).toEqual([255, 1, 0, 255]);
    expect([...store.edited.get(1)!]).toEqual([3]);
    expect([...store.frame(3).keys()]).toEqual([1]);
  });

  it("asks for the windows around the cursor once, again after invalidation", () => {
    const store = new MaskStore(200);
    store.addObject(0);
    expect(store.missingWindows(70)).toEqual([[WINDOW, 2 * WINDOW], [2 * WINDOW, 3 * WINDOW], [0, WINDOW]]);
    for (const [s] of store.missingWindows(70)) store.markLoaded(s);
    expect(store.missingWindows(70)).toEqual([]);
    store.invalidate();
    expect(store.missingWindows(70)).toHaveLength(3);
  });
});

describe("api client helpers", () => {
  it("reads the CSRF cookie and builds queries without empty values", () => {
    expect(csrfToken("a=1; csrftoken=abc%3D; b=2")).toBe("abc=");
    expect(withQuery("/api/videos/", { page: 2, status: "", project: undefined, search: "a b" })).toBe("/api/videos/?page=2&search=a+b");
  });

  it("charts: readable axis maxima and values", () => {
    expect(niceMax([37.8, 7.4])).toBe(50);
    expect(niceMax([0])).toBe(1);
    expect(formatValue(null, " s")).toBe("—");
    expect(formatValue(4.5, " s")).toBe("4.50 s");
  });
});

describe("model version metrics", async () => {
  const { metricPairs } = await import("../src/ui/admin/metrics-format");
  it("flattens nested metrics into readable pairs", () => {
    expect(metricPairs({ val: { "J&F": 0.6321, "1-click": 0.5 }, steps: 200 })).toEqual(["val J&F 0.632", "val 1-click 0.500", "steps 200"]);
    expect(metricPairs(null)).toEqual([]);
    expect(metricPairs({ data: { videos: [1, 2, 3] }, loss: 0.25 })).toEqual(["loss 0.250"]);
  });
});

describe("dashboard and perceived speed helpers", () => {
  it("labels days in UTC whatever the browser's zone", () => {
    expect(dayLabel("2026-03-09")).toBe("Mar 9");
    expect(dayLabel("2026-12-31")).toBe("Dec 31");
  });

  it("keeps only the newest samples", () => {
    const samples: number[] = [];
    for (let i = 0; i < 12; i++) pushBounded(samples, i, 5);
    expect(samples).toEqual([7, 8, 9, 10, 11]);
  });
});
