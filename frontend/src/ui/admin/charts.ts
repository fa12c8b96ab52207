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
