/**
 * Table 1 of the SAM 2 paper, measured on this platform: GET /api/metrics/?group_by=phase as
 * charts (the paper's figures as reference ticks), and a table by phase, annotator, model version or label.
 */
import { metrics, type GroupBy, type MetricsRow } from "../../api/queue";
import { errorText, h, replaceChildren } from "../dom";
import { barChart, formatValue } from "./charts";

/** SAM 2 paper, Table 1 (used when the API does not send its `paper` row). */
export const PAPER_TABLE_1: Record<number, { time_per_frame_s: number; edited_frames_percent: number; clicks_per_clicked_frame: number; alignment_percent: number | null }> = {
  1: { time_per_frame_s: 37.8, edited_frames_percent: 100, clicks_per_clicked_frame: 4.8, alignment_percent: null },
  2: { time_per_frame_s: 7.4, edited_frames_percent: 23.25, clicks_per_clicked_frame: 3.61, alignment_percent: 86.4 },
  3: { time_per_frame_s: 4.5, edited_frames_percent: 19.04, clicks_per_clicked_frame: 2.68, alignment_percent: 89.1 },
};
const PHASES = [1, 2, 3];
type Figure = keyof (typeof PAPER_TABLE_1)[1];

export function metricsPanel() {
  const charts = h("div", { class: "charts" });
  const table = h("div", { class: "table-wrap" });
  const note = h("p", { class: "muted" });
  const groupBy = h("select", { id: "metrics-group", on: { change: () => void loadTable() } },
    h("option", { value: "phase" }, "phase"), h("option", { value: "annotator" }, "annotator"),
    h("option", { value: "model_version" }, "model version"), h("option", { value: "label" }, "label"));
  const element = h("section", { class: "card", "aria-labelledby": "metrics-title" },
    h("h2", { id: "metrics-title" }, "Data engine metrics (Table 1)"), note, charts,
    h("div", { class: "row" }, h("label", { for: "metrics-group" }, "Table by"), groupBy), table);

  async function loadCharts() {
    let rows: MetricsRow[] = [];
    try {
      rows = await metrics("phase");
      note.textContent = "Bars: submitted annotations on this platform. Dashed ticks: the SAM 2 paper's Table 1.";
    } catch (error) {
      note.textContent = `Metrics could not be loaded: ${errorText(error)}`;
    }
    const row = (phase: number) => rows.find((r) => r.key === phase);
    const series = (figure: Figure) => PHASES.map((p) => ({
      label: `Phase ${p}`,
      value: row(p)?.[figure] ?? null,
      reference: (row(p)?.paper?.[figure] ?? PAPER_TABLE_1[p][figure]) ?? undefined,
    }));
    replaceChildren(charts,
      barChart("Time per frame (s)", series("time_per_frame_s"), " s"),
      barChart("Edited frames (%)", series("edited_frames_percent"), " %"),
      barChart("Clicks per clicked frame", series("clicks_per_clicked_frame"), ""),
      barChart("Alignment with phase 1 (%)", series("alignment_percent"), " %"));
  }

  async function loadTable() {
    try {
      const rows = await metrics(groupBy.value as GroupBy);
      const head = [groupBy.selectedOptions[0].text, "Tasks", "Masklets", "Frames", "Time/frame", "Edited frames", "Clicks/clicked frame", "Alignment"];
      const paper = (r: MetricsRow, f: Figure, unit: string) => (r.paper?.[f] != null ? ` (paper ${r.paper[f]}${unit})` : "");
      replaceChildren(table, h("table", { class: "data" },
        h("caption", null, "Measured on submitted tasks; the paper's figure in parentheses where it has one."),
        h("thead", null, h("tr", null, ...head.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, ...rows.map((r) => h("tr", null,
          h("th", { scope: "row" }, r.label),
          h("td", null, String(r.tasks)), h("td", null, String(r.masklets)), h("td", null, String(r.frames)),
          h("td", null, formatValue(r.time_per_frame_s, " s") + paper(r, "time_per_frame_s", " s")),
          h("td", null, formatValue(r.edited_frames_percent, " %") + paper(r, "edited_frames_percent", " %")),
          h("td", null, formatValue(r.clicks_per_clicked_frame, "") + paper(r, "clicks_per_clicked_frame", "")),
          h("td", null, formatValue(r.alignment_percent, " %") + ` (${r.alignment_pairs} pairs)`))),
          !rows.length ? h("tr", null, h("td", { colspan: head.length, class: "muted" }, "No submitted task yet.")) : null)));
    } catch (error) {
      replaceChildren(table, h("p", { class: "message error" }, `Metrics could not be loaded: ${errorText(error)}`));
    }
  }
  void loadCharts();
  void loadTable();
  return { element, reload: () => Promise.all([loadCharts(), loadTable()]) };
}
