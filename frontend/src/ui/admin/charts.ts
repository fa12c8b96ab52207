/** Plain SVG charts: bars (the paper's Table 1 figure as a reference tick), lines over days or model versions, stacked bars. */
import { svg } from "../dom";

export interface Bar {
  label: string;
  value: number | null;
  reference?: number;
}

export function formatValue(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return "—";
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}${unit}`;
}

/** Height of the value axis: the largest value or reference, rounded up to a readable step. */
export function niceMax(values: number[]): number {
  const max = Math.max(0, ...values);
  if (max === 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

export function barChart(title: string, bars: Bar[], unit: string): SVGElement {
  const width = 280, height = 170, top = 28, bottom = 30, left = 8, gap = 14;
  const max = niceMax(bars.flatMap((b) => [b.value ?? 0, b.reference ?? 0]));
  const plot = height - top - bottom;
  const barWidth = (width - left * 2 - gap * (bars.length - 1)) / Math.max(1, bars.length);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": `${title}: ${bars.map((b) => `${b.label} ${formatValue(b.value, unit)}${b.reference !== undefined ? ` (paper ${b.reference}${unit})` : ""}`).join("; ")}` },
    svg("title", {}, title),
    svg("text", { x: left, y: 16, class: "chart-title" }, title));
  bars.forEach((bar, i) => {
    const x = left + i * (barWidth + gap);
    const value = bar.value ?? 0;
    const barHeight = (value / max) * plot;
    chart.append(svg("rect", { x, y: top + plot - barHeight, width: barWidth, height: Math.max(0, barHeight), class: `bar bar-${i}` }));
    chart.append(svg("text", { x: x + barWidth / 2, y: top + plot - barHeight - 4, "text-anchor": "middle", class: "chart-value" }, formatValue(bar.value, unit)));
    if (bar.reference !== undefined) {
      const y = top + plot - (bar.reference / max) * plot;
      chart.append(svg("line", { x1: x - 3, x2: x + barWidth + 3, y1: y, y2: y, class: "reference" },
        svg("title", {}, `Paper, Table 1: ${bar.reference}${unit}`)));
    }
    chart.append(svg("text", { x: x + barWidth / 2, y: height - 10, "text-anchor": "middle", class: "chart-label" }, bar.label));
  });
  chart.append(svg("line", { x1: left, x2: width - left, y1: top + plot, y2: top + plot, class: "axis" }));
  return chart;
}

export interface Series {
  label: string;
  /** One value per x label; null: no value there (the line joins the points either side). */
  values: (number | null)[];
}

/** Days as short labels ("Mar 9"), for the throughput chart's axis. */
export function dayLabel(iso: string): string {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString("en", { month: "short", day: "numeric", timeZone: "UTC" });
}

export interface LineChartOptions {
  /**
   * How the chart reads out. "daily-counts" (the default): counts per day, summed up by each
   * series' total (legend) and peak (aria-label), a dot on each non-zero day. "values": a figure
   * per point (a score per model version), each point's value in the aria-label and over its dot.
   */
  reading?: "daily-counts" | "values";
  /** Appended to values in "values" reading, e.g. " %". */
  unit?: string;
}

/** A series' sum, a missing value counting as 0. */
const seriesTotal = (s: Series) => s.values.reduce<number>((a, b) => a + (b ?? 0), 0);

/** The aria-label's account of one series: its total and daily peak, or every point's value. */
function seriesText(s: Series, labels: string[], reading: LineChartOptions["reading"], unit: string): string {
  if (reading === "values") return `${s.label} ${labels.map((label, i) => `${label} ${formatValue(s.values[i] ?? null, unit)}`).join(", ")}`;
  return `${s.label} ${seriesTotal(s)} in all, ${Math.max(0, ...s.values.map((v) => v ?? 0))} at most a day`;
}

/** A line per series over shared x labels (days, model versions); the reading decides dots, legend and aria-label. */
export function lineChart(title: string, labels: string[], series: Series[], options: LineChartOptions = {}): SVGElement {
  const { reading = "daily-counts", unit = "" } = options;
  const width = 560, height = 200, top = 28, bottom = 34, left = 34, right = 24;
  const max = niceMax(series.flatMap((s) => s.values.map((v) => v ?? 0)));
  const plot = height - top - bottom;
  // Days run edge to edge; versions sit in the middle of equal bands, clear of the value axis.
  const span = width - left - right;
  const x = reading === "values"
    ? (i: number) => left + ((i + 0.5) * span) / Math.max(1, labels.length)
    : (i: number) => left + (labels.length > 1 ? (i * span) / (labels.length - 1) : span / 2);
  const y = (v: number) => top + plot - (v / max) * plot;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart chart-wide", role: "img",
    "aria-label": `${title}, ${labels[0] ?? ""} to ${labels[labels.length - 1] ?? ""}: ${series.map((s) => seriesText(s, labels, reading, unit)).join("; ")}` },
    svg("title", {}, title),
    svg("text", { x: 8, y: 16, class: "chart-title" }, title));
  for (const tick of [0, max / 2, max]) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(tick), y2: y(tick), class: "grid" }));
    chart.append(svg("text", { x: left - 4, y: y(tick) + 3, "text-anchor": "end", class: "chart-label" }, String(Math.round(tick * 10) / 10)));
  }
  series.forEach((s, k) => {
    const shown = s.values.flatMap((v, i) => (v === null || !Number.isFinite(v) ? [] : [{ v, i }]));
    const points = shown.map(({ v, i }) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    chart.append(svg("polyline", { points, class: `line line-${k}`, "data-series": s.label }));
    for (const { v, i } of shown) {
      if (reading === "daily-counts" && v <= 0) continue;
      const text = reading === "values" ? `${labels[i]}: ${s.label} ${formatValue(v, unit)}` : `${labels[i]}: ${v} ${s.label}`;
      chart.append(svg("circle", { cx: x(i), cy: y(v), r: 2.5, class: `dot dot-${k}` }, svg("title", {}, text)));
      // Values over the dots of the first series, under those of the second: two lines rarely collide.
      if (reading === "values") chart.append(svg("text", { x: x(i), y: y(v) + (k % 2 ? 12 : -5), "text-anchor": "middle", class: "chart-value" }, formatValue(v, unit)));
    }
    const legend = reading === "values" ? `— ${s.label}` : `— ${s.label} (${seriesTotal(s)})`;
    chart.append(svg("text", { x: left + k * 170, y: height - 4, class: `chart-legend legend-${k}` }, legend));
  });
  // As many labels as fit (about 6 px a character); the end ones anchored inside the chart if long.
  const longest = Math.max(0, ...labels.map((label) => label.length));
  const fit = Math.max(1, Math.min(8, Math.floor(span / (6 * longest + 8))));
  const every = Math.max(1, Math.ceil(labels.length / fit));
  const last = labels.length - 1;
  const anchor = (i: number, label: string) =>
    labels.length > 1 && i === 0 && 3 * label.length > x(0) ? "start"
      : labels.length > 1 && i === last && 3 * label.length > width - x(last) ? "end" : "middle";
  labels.forEach((label, i) => {
    // The last label is always drawn; a regular tick too close to it is left out.
    if ((i % every === 0 && last - i >= every) || i === last) {
      chart.append(svg("text", { x: x(i), y: top + plot + 13, "text-anchor": anchor(i, label), class: "chart-label" }, label));
    }
  });
  chart.append(svg("line", { x1: left, x2: width - right, y1: top + plot, y2: top + plot, class: "axis" }));
  return chart;
}

export interface StackedBar {
  label: string;
  parts: { label: string; value: number }[];
}

/** One horizontal bar per row, split into parts (e.g. a kind of masklet by status). */
export function stackedBarChart(title: string, bars: StackedBar[]): SVGElement {
  const width = 280, top = 28, rowHeight = 30, left = 60, right = 34;
  const partNames = bars[0]?.parts.map((p) => p.label) ?? [];
  const height = top + bars.length * rowHeight + 24;
  const max = niceMax(bars.map((b) => b.parts.reduce((a, p) => a + p.value, 0)));
  const scale = (width - left - right) / max;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": `${title}: ${bars.map((b) => `${b.label} ${b.parts.map((p) => `${p.value} ${p.label}`).join(", ")}`).join("; ")}` },
    svg("title", {}, title),
    svg("text", { x: 8, y: 16, class: "chart-title" }, title));
  bars.forEach((bar, i) => {
    const y = top + i * rowHeight;
    let x = left;
    chart.append(svg("text", { x: left - 6, y: y + 14, "text-anchor": "end", class: "chart-label" }, bar.label));
    bar.parts.forEach((part, k) => {
      const w = part.value * scale;
      if (w > 0) {
        chart.append(svg("rect", { x, y, width: w, height: rowHeight - 10, class: `segment segment-${k}`, "data-part": part.label, "data-value": part.value },
          svg("title", {}, `${bar.label}: ${part.value} ${part.label}`)));
      }
      x += w;
    });
    chart.append(svg("text", { x: x + 4, y: y + 14, class: "chart-value" }, String(bar.parts.reduce((a, p) => a + p.value, 0))));
  });
  partNames.forEach((name, k) => {
    chart.append(svg("rect", { x: 8 + k * 66, y: height - 16, width: 8, height: 8, class: `segment segment-${k}` }));
    chart.append(svg("text", { x: 19 + k * 66, y: height - 9, class: "chart-label" }, name));
  });
  return chart;
}
