/** Admin section: every job (ingest, propagation, automatic masklets, exports, retraining) with progress. */
import { h } from "../dom";
import type { Section } from "./dashboard";
import { jobsPanel } from "./jobs-panel";

export function jobsSection(): Section {
  const jobs = jobsPanel();
  return { title: "Jobs", element: h("div", { class: "section-body" }, jobs.element), unmount: () => jobs.stop() };
}
