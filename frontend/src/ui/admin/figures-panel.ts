/**
 * The dashboard's figures besides Table 1 (GET /api/metrics/dashboard/): throughput per day as
 * lines, acceptance rates per phase and per kind as bars, automatic against manual masklets as
 * stacked bars by status.
 */
import { dashboardFigures, type DashboardFigures } from "../../api/queue";
import { errorText, h, replaceChildren } from "../dom";
import { barChart, dayLabel, lineChart, stackedBarChart } from "./charts";

const WINDOWS = [7, 30, 90];
const STATUSES = ["draft", "submitted", "accepted", "rejected"] as const;

export function figuresCharts(figures: DashboardFigures): SVGElement[] {
  const days = figures.throughput.map((d) => dayLabel(d.date));
  const percent = (rate: number | null) => (rate === null ? null : 100 * rate);
  return [
    lineChart("Masklets per day", days, [
      { label: "submitted", values: figures.throughput.map((d) => d.masklets_submitted) },
      { label: "accepted", values: figures.throughput.map((d) => d.masklets_accepted) },
    ]),
    lineChart("Frames annotated per day", days, [
      { label: "frames", values: figures.throughput.map((d) => d.frames_annotated) },
    ]),
    barChart("Acceptance by phase (%)", figures.acceptance_by_phase.map((r) => ({ label: `${r.label} (${r.decided})`, value: percent(r.rate) })), " %"),
    barChart("Acceptance by kind (%)", figures.acceptance_by_kind.map((r) => ({ label: `${r.label} (${r.decided})`, value: percent(r.rate) })), " %"),
    stackedBarChart("Auto vs manual masklets", figures.masklets_by_kind.map((r) => ({
      label: r.kind, parts: STATUSES.map((s) => ({ label: s, value: r[s] })),
    }))),
  ];
}

export function figuresPanel() {
  const charts = h("div", { class: "charts", id: "figures-charts" });
  const note = h("p", { class: "muted" });
  const windowSelect = h("select", { id: "figures-days", on: { change: () => void load() } },
    ...WINDOWS.map((d) => h("option", { value: String(d), selected: d === 30 }, `last ${d} days`)));
  const element = h("section", { class: "card", "aria-labelledby": "figures-title" },
    h("h2", { id: "figures-title" }, "Throughput and verification"),
    h("div", { class: "row" }, h("label", { for: "figures-days" }, "Window"), windowSelect), note, charts);

  async function load() {
    try {
      const figures = await dashboardFigures(Number(windowSelect.value));
      note.textContent = `From ${figures.start} to ${figures.end}. Acceptance: accepted over decided in the window (decisions in parentheses); masklets: all, by current status.`;
      replaceChildren(charts, ...figuresCharts(figures));
    } catch (error) {
      note.textContent = `Throughput could not be loaded: ${errorText(error)}`;
    }
  }
  void load();
  return { element, reload: load };
}
