import { beforeAll, describe, expect, it, vi } from "vitest";
import { lineChart } from "../src/ui/admin/charts";
import { HELD_OUT_TITLE, heldOutChart, heldOutScores, type VersionScores } from "../src/ui/admin/held-out-chart";

/** Just enough of the DOM for the chart builders (the tests run in Node, without a browser). */
class FakeElement {
  readonly attributes = new Map<string, string>();
  readonly children: (FakeElement | string)[] = [];
  className = "";
  readonly dataset: Record<string, string> = {};
  constructor(readonly tagName: string) {}
  setAttribute(name: string, value: string) { this.attributes.set(name, value); }
  getAttribute(name: string) { return name === "class" ? this.className || this.attributes.get(name) || null : this.attributes.get(name) ?? null; }
  append(...nodes: (FakeElement | string)[]) { this.children.push(...nodes); }
  appendChild(node: FakeElement | string) { this.children.push(node); return node; }
  get textContent(): string { return this.children.map((c) => (typeof c === "string" ? c : c.textContent)).join(""); }
  /** Descendants by tag name. */
  all(tag: string): FakeElement[] {
    return this.children.flatMap((c) => (typeof c === "string" ? [] : [...(c.tagName === tag ? [c] : []), ...c.all(tag)]));
  }
}

beforeAll(() => {
  vi.stubGlobal("document", {
    createElement: (tag: string) => new FakeElement(tag),
    createElementNS: (_ns: string, tag: string) => new FakeElement(tag),
    createTextNode: (text: string) => text,
  });
});

const scores = (mask: number, click: number) => ({
  mask: { jf: mask, j: mask - 1, f: mask + 1, objects: 3 }, "1-click": { jf: click, j: click - 1, f: click + 1, objects: 3 },
});

function version(id: number, name: string, created_at: string, metrics: unknown, parent: number | null = null): VersionScores {
  return { id, name, parent, metrics, created_at };
}

// As the API lists them: the newest first. The shipped version carries no metrics of its own.
const VERSIONS = [
  version(3, "micro-round-2", "2026-03-09T12:00:00Z", { val: scores(85.0, 62.2), val_base: scores(80.1, 60.0), steps: 200 }, 2),
  version(2, "micro-round-1", "2026-03-08T12:00:00Z", { val: scores(80.1, 60.0), val_base: scores(74.8, 58.4), val_videos: 2 }, 1),
  version(4, "micro-untested", "2026-03-10T12:00:00Z", { val: null, note: "Evaluation was turned off (eval_videos 0)." }, 3),
  version(1, "micro", "2026-03-01T12:00:00Z", {}),
];

describe("held-out J&F per model version", () => {
  it("takes each version's J&F per protocol, oldest first, the shipped one from its first round's base figures", () => {
    const { labels, series } = heldOutScores(VERSIONS);
    expect(labels).toEqual(["micro", "micro-round-1", "micro-round-2"]);
    expect(series).toEqual([
      { label: "mask", values: [74.8, 80.1, 85.0] },
      { label: "1-click", values: [58.4, 60.0, 62.2] },
    ]);
  });

  it("leaves out a version with neither its own nor base figures, and old metric shapes", () => {
    const { labels } = heldOutScores([
      version(1, "sam2.1-tiny", "2026-03-01T12:00:00Z", { "sa-v val": { "J&F": 0.75 } }),
      version(2, "round-1", "2026-03-02T12:00:00Z", { val: { "J&F": 0.612 } }, 1),
      version(3, "round-2", "2026-03-03T12:00:00Z", { val: { mask: { jf: 70.5 } } }, 1),
    ]);
    expect(labels).toEqual(["round-2"]);
  });

  it("keeps a protocol's gap as a missing point", () => {
    const { series } = heldOutScores([
      version(1, "a", "2026-03-01T12:00:00Z", { val: { mask: { jf: 70 } } }),
      version(2, "b", "2026-03-02T12:00:00Z", { val: { mask: { jf: 72 }, "1-click": { jf: 55 } } }, 1),
    ]);
    expect(series).toEqual([{ label: "mask", values: [70, 72] }, { label: "1-click", values: [null, 55] }]);
  });

  it("draws a line per protocol with every value in its aria-label, in creation order", () => {
    const chart = heldOutChart(VERSIONS) as unknown as FakeElement;
    expect(chart.tagName).toBe("svg");
    expect(chart.getAttribute("role")).toBe("img");
    expect(chart.getAttribute("aria-label")).toBe(`${HELD_OUT_TITLE}, micro to micro-round-2: `
      + "mask micro 74.8, micro-round-1 80.1, micro-round-2 85.0; 1-click micro 58.4, micro-round-1 60.0, micro-round-2 62.2");
    expect(chart.all("polyline").map((line) => line.getAttribute("data-series"))).toEqual(["mask", "1-click"]);
    expect(chart.all("circle")).toHaveLength(6);
    const values = chart.all("text").filter((t) => t.getAttribute("class") === "chart-value").map((t) => t.textContent);
    expect(values).toEqual(["74.8", "80.1", "85.0", "58.4", "60.0", "62.2"]);
    const labels = chart.all("text").filter((t) => t.getAttribute("class") === "chart-label").map((t) => t.textContent);
    expect(labels.slice(-3)).toEqual(["micro", "micro-round-1", "micro-round-2"]); // after the value axis
  });

  it("says so, muted, when no version has held-out figures yet", () => {
    expect(heldOutScores([VERSIONS[2], VERSIONS[3]])).toEqual({ labels: [], series: [] });
    const empty = heldOutChart([VERSIONS[3]]) as unknown as FakeElement;
    expect(empty.tagName).toBe("p");
    expect(empty.className).toContain("muted");
    expect(empty.textContent).toMatch(/^No held-out J&F yet/);
  });
});

describe("line chart readings", () => {
  it("keeps the daily counts' totals and peaks (the throughput charts)", () => {
    const chart = lineChart("Masklets per day", ["Mar 8", "Mar 9"], [{ label: "submitted", values: [0, 3] }]) as unknown as FakeElement;
    expect(chart.getAttribute("aria-label")).toBe("Masklets per day, Mar 8 to Mar 9: submitted 3 in all, 3 at most a day");
    expect(chart.all("circle")).toHaveLength(1); // no dot on a day without any
    expect(chart.all("text").some((t) => t.textContent === "— submitted (3)")).toBe(true);
  });
});
