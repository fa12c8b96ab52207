/**
 * Retraining rounds: launch one on accepted masklets (phases, steps, base version), follow its
 * progress, and see held-out J&F per model version (redrawn whenever a round finishes).
 */
import { modelVersions, retraining, retrainingPreview, type RetrainingPreview, type RetrainingRound } from "../../api/queue";
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

/** What a round would use, per phase and split (rows: phases; columns: splits). */
export function previewTable(preview: RetrainingPreview): HTMLElement {
  const splits = ["train", "unassigned", "val", "test"];
  const cell = (phase: number, split: string) => preview.cells.find((c) => c.phase === phase && c.split === split);
  return h("div", { class: "preview", "aria-label": "Retraining data preview" },
    h("p", null, `Trains on ${preview.train_masklets} accepted masklets of ${preview.train_videos} videos (${preview.description}); `
      + `evaluates on ${preview.held_out_masklets} of ${preview.held_out_videos} val videos.`,
      preview.train_masklets === 0 ? " Nothing to train on: the round would be refused. Assign videos to the train split (Videos) or widen the phases." : ""),
    h("table", { class: "data" },
      h("caption", null, "Accepted masklets per phase and split (videos in brackets)"),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Phase"), ...splits.map((s) => h("th", { scope: "col" }, s)))),
      h("tbody", null, ...[1, 2, 3].map((phase) => h("tr", null, h("th", { scope: "row" }, `phase ${phase}`),
        ...splits.map((split) => {
          const c = cell(phase, split);
          return h("td", { class: c ? `use-${c.use.replace(" ", "-")}` : "", title: c?.use ?? "" },
            c ? `${c.masklets} (${c.videos}) ${c.use === "train" ? "· train" : c.use === "held out" ? "· held out" : ""}` : "0");
        }))))));
}

export function retrainingPanel(onChange: () => void, onVersionsChanged: () => void = () => undefined) {
  const tbody = h("tbody");
  const message = messageBox();
  const base = h("select", { id: "retrain-base" });
  const phases = [1, 2, 3].map((p) => h("input", { type: "checkbox", id: `retrain-phase-${p}`, value: String(p), checked: true,
    "aria-label": `Accepted masklets of phase ${p}` }));
  const steps = h("input", { id: "retrain-steps", type: "number", min: 1, max: 100000, value: "200" });
  const unassigned = h("input", { type: "checkbox", id: "retrain-unassigned" });
  const selection = () => ({ phases: phases.filter((p) => p.checked).map((p) => Number(p.value)),
    splits: unassigned.checked ? ["train", "unassigned"] : ["train"] });
  const previewBox = h("div", { class: "preview-box" });
  const previewButton = h("button", { type: "button", on: { click: async () => {
    message.clear();
    try {
      replaceChildren(previewBox, previewTable(await retrainingPreview(selection())));
    } catch (error) {
      message.show(errorText(error));
    }
  } } }, "Preview data");
  const launch = h("button", { type: "submit", class: "primary" }, "Launch round");
  const form = h("form", { class: "row", on: { submit: async (event) => {
    event.preventDefault();
    message.clear();
    launch.disabled = true;
    try {
      const round = await retraining.launch({
        base_version: base.value ? Number(base.value) : undefined,
        data_selection: selection(),
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
    unassigned, h("label", { for: "retrain-unassigned" }, "Also unassigned videos"),
    h("label", { for: "retrain-steps" }, "Steps"), steps, previewButton, launch);
  const scores = h("div", { class: "charts held-out", id: "held-out-chart" });
  const element = h("section", { class: "card", "aria-labelledby": "retraining-title" },
    h("h2", { id: "retraining-title" }, "Retraining rounds"), form, message.element, previewBox, scores,
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
        if (finished !== null) onVersionsChanged(); // a round ended: the model list has a new version
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
  return { element, reload: load, reloadVersions: loadVersions, stop: () => ((stopped = true), clearTimeout(timer)) };
}
