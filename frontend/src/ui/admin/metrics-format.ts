/** Keys whose figures are shown elsewhere (the versions panel): per-object scores, evaluations, the gate. */
const DETAIL_KEYS = new Set(["per_object", "evaluations", "gate"]);

/** A version's metrics (J&F per protocol), whatever their nesting, as "name value" pairs. */
export function metricPairs(metrics: unknown, prefix = ""): string[] {
  if (typeof metrics === "number") return [`${prefix} ${Number.isInteger(metrics) ? metrics : metrics.toFixed(3)}`.trim()];
  if (!metrics || typeof metrics !== "object" || Array.isArray(metrics)) return []; // lists (data selections) are not figures
  return Object.entries(metrics as Record<string, unknown>).filter(([key]) => !DETAIL_KEYS.has(key)).flatMap(([key, value]) => metricPairs(value, prefix ? `${prefix} ${key}` : key));
}
