import { describe, expect, it } from "vitest";
import { metricPairs } from "../src/ui/admin/metrics-format";
import { gateText, versionScores } from "../src/ui/admin/versions-panel";

const scores = (mask: number, click: number, box: number) => ({
  mask: { jf: mask, objects: 8, per_object: { "1:1": mask } }, "1-click": { jf: click, objects: 8 }, box: { jf: box, objects: 8 },
});

describe("the versions side by side", () => {
  it("shows the latest evaluation of the chosen split, else a round's own val scores", () => {
    const round = { metrics: { val: scores(50.5, 40.1, 45.0) } };
    expect(versionScores(round).scores?.mask?.jf).toBe(50.5);
    expect(versionScores(round).source).toBe("round's val");
    expect(versionScores(round, "test").scores).toBeNull();
    const evaluated = { metrics: { val: scores(50.5, 40.1, 45.0), evaluations: {
      "3/val": { project: 3, project_name: "Cars", split: "val", scores: scores(61.0, 55.0, 58.0), evaluated_at: "2026-12-07T10:00:00Z" },
      "4/val": { project: 4, project_name: "Birds", split: "val", scores: scores(62.0, 56.0, 59.0), evaluated_at: "2026-12-07T11:00:00Z" },
      "3/test": { project: 3, project_name: "Cars", split: "test", scores: scores(48.0, 41.0, 44.0), evaluated_at: "2026-12-07T12:00:00Z" },
    } } };
    expect(versionScores(evaluated)).toMatchObject({ source: "Birds val" });
    expect(versionScores(evaluated).scores?.box?.jf).toBe(59.0);
    expect(versionScores(evaluated, "test").scores?.mask?.jf).toBe(48.0);
  });

  it("words the gate's comparison: gain ± noise, against whom, promoted or kept", () => {
    const kept = { metrics: { gate: { promote: false, gain: -6.5, noise: 3.2, objects: 15, against: "micro-round-2" } } };
    expect(gateText(kept)).toBe("−6.5 ± 3.2 vs micro-round-2 (15 objects): kept by the gate");
    const promoted = { metrics: { gate: { promote: true, gain: 4.0, noise: 1.5, objects: 15, against: "micro-shipped" } } };
    expect(gateText(promoted)).toContain("+4.0 ± 1.5 vs micro-shipped");
    expect(gateText(promoted)).toContain("promoted by the gate");
    expect(gateText({ metrics: { gate: { promote: false, gain: null, reason: "Not evaluated on a held-out split." } } }))
      .toBe("Not evaluated on a held-out split.");
    expect(gateText({ metrics: {} })).toBe("");
  });

  it("keeps per-object scores and the gate out of the short metric pairs", () => {
    const pairs = metricPairs({ val: scores(50.5, 40.1, 45.0), gate: { gain: 1 }, evaluations: { x: { scores: {} } }, steps: 60 });
    expect(pairs).toContain("val mask jf 50.500");
    expect(pairs.some((p) => p.includes("per_object") || p.startsWith("gate") || p.startsWith("evaluations"))).toBe(false);
    expect(pairs).toContain("steps 60");
  });
});
