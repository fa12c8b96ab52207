/** Admin section: the data engine's metrics (Table 1) and the throughput and verification figures. */
import { h } from "../dom";
import type { Section } from "./dashboard";
import { figuresPanel } from "./figures-panel";
import { metricsPanel } from "./metrics-panel";

export function metricsSection(): Section {
  return { title: "Metrics", element: h("div", { class: "section-body" }, metricsPanel().element, figuresPanel().element) };
}
