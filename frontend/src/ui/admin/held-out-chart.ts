/**
 * Held-out J&F per model version, the analog of the SAM 2 paper's Table 2: did each retraining
 * round improve the model? A round stores its version's scores per protocol under `metrics.val`
 * ({"mask": {"jf": 85.0, ...}, "1-click": {...}}) and its base's, on the same videos, under
 * `metrics.val_base`; the shipped version, never evaluated itself, takes the latter.
 */
import type { ModelVersion } from "../../api/queue";
import { h } from "../dom";
import { lineChart, type Series } from "./charts";

export type VersionScores = Pick<ModelVersion, "id" | "name" | "parent" | "metrics" | "created_at">;

export const HELD_OUT_TITLE = "Held-out J&F (%) per model version";

type Scores = Record<string, number>;

/** J&F per protocol from `val`-shaped metrics; anything else (a note, an old shape) gives nothing. */
function protocolScores(value: unknown): Scores {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  const scores: Scores = {};
  for (const [protocol, result] of Object.entries(value as Record<string, unknown>)) {
    const jf = result && typeof result === "object" ? (result as Record<string, unknown>).jf : undefined;
    if (typeof jf === "number" && Number.isFinite(jf)) scores[protocol] = jf;
  }
  return scores;
}

function field(metrics: unknown, key: string): unknown {
  return metrics && typeof metrics === "object" ? (metrics as Record<string, unknown>)[key] : undefined;
}

const isEmpty = (scores: Scores) => Object.keys(scores).length === 0;

/**
 * The versions with held-out figures, oldest first, as chart labels and one series per protocol
 * (in the order the rounds list them). A version without its own `val` uses its base figures:
 * its own `val_base`, else the one its first evaluated child round recorded; without either it
 * is left out.
 */
export function heldOutScores(versions: VersionScores[]): { labels: string[]; series: Series[] } {
  const ordered = [...versions].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id - b.id);
  const baseScores = (version: VersionScores): Scores => {
    const own = protocolScores(field(version.metrics, "val_base"));
    if (!isEmpty(own)) return own;
    for (const child of ordered) {
      if (child.parent !== version.id) continue;
      const recorded = protocolScores(field(child.metrics, "val_base"));
      if (!isEmpty(recorded)) return recorded;
    }
    return {};
  };
  const rows = ordered.flatMap((version) => {
    const own = protocolScores(field(version.metrics, "val"));
    const scores = isEmpty(own) ? baseScores(version) : own;
    return isEmpty(scores) ? [] : [{ name: version.name, scores }];
  });
  const protocols: string[] = [];
  for (const { scores } of rows) for (const protocol of Object.keys(scores)) if (!protocols.includes(protocol)) protocols.push(protocol);
  return {
    labels: rows.map((row) => row.name),
    series: protocols.map((protocol) => ({ label: protocol, values: rows.map((row) => row.scores[protocol] ?? null) })),
  };
}

/** The chart, or a muted line saying why there is none yet. */
export function heldOutChart(versions: VersionScores[]): Element {
  const { labels, series } = heldOutScores(versions);
  if (!labels.length) {
    return h("p", { class: "muted held-out-empty" },
      "No held-out J&F yet: a retraining round scores its model version on the val videos' accepted masklets when it finishes.");
  }
  return lineChart(HELD_OUT_TITLE, labels, series, { reading: "values" });
}
