/**
 * Retraining rounds: launch one on accepted masklets (phases, steps, base version), follow its
 * progress, and see held-out J&F per model version (redrawn whenever a round finishes).
 */
import { modelVersions, retraining, type RetrainingRound } from "../../api/queue";
import { errorText, h, messageBox, replaceChildren } from "../dom";
import { heldOutChart } from "./held-out-chart";
import { metricPairs } from "./metrics-format";

const FINISHED = ["succeeded", "failed", "cancelled"];

function roundRow(round: RetrainingRound): HTMLElement {
  const bar = h("progress", { max: 100, "aria-label": `Round ${round.id} progress` });
  if (round.progress.percent !== null && round.progress.percent !== undefined) bar.value = round.progress.percent;
  return h("tr", { dataset: { roundId: String(round.id), status: String(round.status) } },
    h("td", null, String(round.id)),
    h("td", null, round.base_version.name),
    h("td", null, h("span", { class: `status status-${round.status}` }, String(round.status))),
    h("td", null, bar, ` ${round.step ?? 0}/${round.progress.total || "?"}`, round.loss !== null ? ` loss ${round.loss.toFixed(4)}` : ""),
    h("td", null, round.resulting_version ? round.resulting_version.name : ""),
    h("td", { class: "muted" }, [round.message, ...metricPairs(round.metrics).slice(0, 6)].filter(Boolean).join(" · ")));
}

export function retrainingPanel(onChange: () => void) {
  const tbody = h("tbody");
  const message = messageBox();
  const base = h("select", { id: "retrain-base" });
  const phases = [1, 2, 3].map((p) => h("input", { type: "checkbox", id: `retrain-phase-${p}`, value: String(p), checked: true,
    "aria-label": `Accepted masklets of phase ${p}` }));
  const steps = h("input", { id: "retrain-steps", type: "number", min: 1, max: 100000, value: "200" });
  const launch = h("button", { type: "submit", class: "primary" }, "Launch round");
  const form = h("form", { class: "row", on: { submit: async (event) => {
    event.preventDefault();
    message.clear();
    launch.disabled = true;
    try {
      const round = await retraining.launch({
        base_version: base.value ? Number(base.value) : undefined,
        data_selection: { phases: phases.filter((p) => p.checked).map((p) => Number(p.value)) },
        hyperparameters: { steps: Number(steps.value) || 200 },
      });
      message.show(`Round ${round.id} launched on ${round.base_version.name}.`, "info");
      onChange();
      void load();
    } catch (error) {
      message.show(errorText(error));
    } finally {
      launch.disabled = false;
    }
  } } },
    h("label", { for: "retrain-base" }, "Base version"), base,
    h("fieldset", { class: "inline" }, h("legend", null, "Accepted masklets of phases"),
      ...phases.flatMap((p) => [p, h("label", { for: p.id }, p.value)])),
    h("label", { for: "retrain-steps" }, "Steps"), steps, launch);
  const scores = h("div", { class: "charts held-out", id: "held-out-chart" });
  const element = h("section", { class: "card", "aria-labelledby": "retraining-title" },
    h("h2", { id: "retraining-title" }, "Retraining rounds"), form, message.element, scores,
    h("div", { class: "table-wrap" }, h("table", { class: "data" },
      h("thead", null, h("tr", null, ...["Id", "Base", "Status", "Progress", "Result", "Notes"].map((c) => h("th", { scope: "col" }, c)))),
      tbody)));
  let timer = 0;
  let stopped = false;
  let finished: string | null = null; // the finished rounds when versions were last loaded

  /** The base choices (keeping the one picked) and the held-out chart, from the versions list. */
  async function loadVersions() {
    try {
      const page = await modelVersions.list();
      const picked = page.results.some((v) => String(v.id) === base.value) ? base.value : "";
      replaceChildren(base, ...page.results.map((v) => h("option", { value: String(v.id),
        selected: picked ? String(v.id) === picked : v.is_active }, `${v.name}${v.is_active ? " (active)" : ""}`)));
      replaceChildren(scores, heldOutChart(page.results));
    } catch (error) {
      replaceChildren(scores, h("p", { class: "muted" }, `Model versions could not be loaded: ${errorText(error)}`));
    }
  }

  async function load() {
    clearTimeout(timer);
    try {
      const page = await retraining.list();
      replaceChildren(tbody, ...page.results.map(roundRow));
      if (!page.results.length) tbody.append(h("tr", null, h("td", { colspan: 6, class: "muted" }, "No retraining round yet.")));
      const done = page.results.filter((r) => FINISHED.includes(String(r.status))).map((r) => r.id).join(",");
      if (done !== finished) {
        finished = done; // a round finished (or this is the first load): it may have added a version
        void loadVersions();
      }
      if (!stopped && page.results.some((r) => !FINISHED.includes(String(r.status)))) timer = window.setTimeout(load, 3000);
    } catch (error) {
      message.show(`Retraining rounds could not be loaded: ${errorText(error)}`);
      if (finished === null) void loadVersions(); // the base choices and the chart need no rounds
    }
  }
  void load();
  return { element, reload: load, stop: () => ((stopped = true), clearTimeout(timer)) };
}
