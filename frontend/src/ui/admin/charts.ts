/** Plain SVG bar charts: one bar per group, the paper's Table 1 figure as a reference tick. */
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
  values: number[];
}

/** Days as short labels ("Mar 9"), for the throughput chart's axis. */
export function dayLabel(iso: string): string {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString("en", { month: "short", day: "numeric", timeZone: "UTC" });
}

/** A line per series over shared x labels (days); a dot per non-zero point, the totals in the legend. */
export function lineChart(title: string, labels: string[], series: Series[]): SVGElement {
  const width = 560, height = 200, top = 28, bottom = 34, left = 34, right = 24;
  const max = niceMax(series.flatMap((s) => s.values));
  const plot = height - top - bottom;
  const step = (width - left - right) / Math.max(1, labels.length - 1);
  const x = (i: number) => left + (labels.length > 1 ? i * step : (width - left - right) / 2);
  const y = (v: number) => top + plot - (v / max) * plot;
  const total = (s: Series) => s.values.reduce((a, b) => a + b, 0);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart chart-wide", role: "img",
    "aria-label": `${title}, ${labels[0] ?? ""} to ${labels[labels.length - 1] ?? ""}: ${series.map((s) => `${s.label} ${total(s)} in all, ${Math.max(0, ...s.values)} at most a day`).join("; ")}` },
    svg("title", {}, title),
    svg("text", { x: 8, y: 16, class: "chart-title" }, title));
  for (const tick of [0, max / 2, max]) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(tick), y2: y(tick), class: "grid" }));
    chart.append(svg("text", { x: left - 4, y: y(tick) + 3, "text-anchor": "end", class: "chart-label" }, String(Math.round(tick * 10) / 10)));
  }
  series.forEach((s, k) => {
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    chart.append(svg("polyline", { points, class: `line line-${k}`, "data-series": s.label }));
    s.values.forEach((v, i) => {
      if (v > 0) chart.append(svg("circle", { cx: x(i), cy: y(v), r: 2.5, class: `dot dot-${k}` }, svg("title", {}, `${labels[i]}: ${v} ${s.label}`)));
    });
    chart.append(svg("text", { x: left + k * 170, y: height - 4, class: `chart-legend legend-${k}` }, `— ${s.label} (${total(s)})`));
  });
  const every = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((label, i) => {
    const last = labels.length - 1; // always labelled; a regular tick too close to it is left out
    if ((i % every === 0 && last - i >= every) || i === last) {
      chart.append(svg("text", { x: x(i), y: top + plot + 13, "text-anchor": "middle", class: "chart-label" }, label));
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
