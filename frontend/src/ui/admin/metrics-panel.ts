/** Table 1 per phase, from GET /api/metrics/?group_by=phase, with the paper's figures beside. */
import { ApiError } from "../../api/client";
import { metrics, type MetricsRow } from "../../api/queue";
import { errorText, h, replaceChildren } from "../dom";
import { barChart, formatValue } from "./charts";

/** SAM 2 paper, Table 1. */
export const PAPER_TABLE_1: Record<number, { time: number; edited: number; clicks: number }> = {
  1: { time: 37.8, edited: 100, clicks: 4.8 },
  2: { time: 7.4, edited: 23.25, clicks: 3.61 },
  3: { time: 4.5, edited: 19.04, clicks: 2.68 },
};

const num = (row: MetricsRow | undefined, ...keys: string[]): number | null => {
  for (const key of keys) {
    const value = row?.[key];
    if (typeof value === "number") return value;
  }
  return null;
};

export function metricsPanel() {
  const body = h("div", { class: "charts" });
  const table = h("div", { class: "table-wrap" });
  const note = h("p", { class: "muted" });
  const element = h("section", { class: "card", "aria-labelledby": "metrics-title" },
    h("h2", { id: "metrics-title" }, "Data engine metrics per phase"), note, body, table);

  async function load() {
    let rows: MetricsRow[] = [];
    try {
      rows = await metrics("phase");
      note.textContent = "Bars: this platform's annotations. Ticks: the SAM 2 paper's Table 1.";
    } catch (error) {
      note.textContent = error instanceof ApiError && error.isMissingRoute
        ? "The metrics API (GET /api/metrics/) is not available on this server yet: the ticks show the paper's Table 1 only."
        : `Metrics could not be loaded: ${errorText(error)}`;
    }
    const byPhase = (phase: number) => rows.find((r) => Number(r.key ?? r.phase) === phase);
    const phases = [1, 2, 3];
    const series = (keys: string[], ref: keyof (typeof PAPER_TABLE_1)[1]) =>
      phases.map((p) => ({ label: `Phase ${p}`, value: num(byPhase(p), ...keys), reference: PAPER_TABLE_1[p][ref] }));
    replaceChildren(body,
      barChart("Time per frame (s)", series(["time_per_frame_s", "seconds_per_frame"], "time"), " s"),
      barChart("Edited frames (%)", series(["edited_frames_pct", "edited_frames_percent"], "edited"), " %"),
      barChart("Clicks per clicked frame", series(["clicks_per_clicked_frame"], "clicks"), ""),
      barChart("Acceptance rate (%)", phases.map((p) => {
        const rate = num(byPhase(p), "acceptance_rate");
        return { label: `Phase ${p}`, value: rate === null ? null : rate <= 1 ? rate * 100 : rate };
      }), " %"));
    const head = ["Phase", "Masklets", "Auto", "Manual", "Time/frame", "Edited frames", "Clicks/clicked frame", "Accepted"];
    replaceChildren(table, h("table", { class: "data" },
      h("caption", null, "Table 1 columns, measured (paper in parentheses)"),
      h("thead", null, h("tr", null, ...head.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, ...phases.map((p) => {
        const row = byPhase(p);
        const paper = PAPER_TABLE_1[p];
        const rate = num(row, "acceptance_rate");
        return h("tr", null, h("th", { scope: "row" }, String(p)),
          h("td", null, String(num(row, "masklets") ?? "—")),
          h("td", null, String(num(row, "auto_masklets", "auto") ?? "—")),
          h("td", null, String(num(row, "manual_masklets", "manual") ?? "—")),
          h("td", null, `${formatValue(num(row, "time_per_frame_s", "seconds_per_frame"), " s")} (${paper.time} s)`),
          h("td", null, `${formatValue(num(row, "edited_frames_pct", "edited_frames_percent"), " %")} (${paper.edited} %)`),
          h("td", null, `${formatValue(num(row, "clicks_per_clicked_frame"), "")} (${paper.clicks})`),
          h("td", null, rate === null ? "—" : `${(rate <= 1 ? rate * 100 : rate).toFixed(1)} %`));
      }))));
  }
  void load();
  return { element, reload: load };
}
