/**
 * Admin section: retraining rounds (preview the data per phase and split, launch, follow, held-out
 * J&F per version) and the model versions (register a checkpoint, promote), refreshed when a round
 * ends, and the versions side by side (versions-panel.ts) with their scores and Evaluate.
 */
import { modelVersions } from "../../api/queue";
import { errorText, h, replaceChildren } from "../dom";
import type { Section } from "./dashboard";
import { metricPairs } from "./metrics-format";
import { modelRegisterForm } from "./model-register-panel";
import { retrainingPanel } from "./retraining-panel";
import { versionsPanel } from "./versions-panel";

export function modelsPanel(onVersions: () => void = () => undefined) {
  const list = h("ul", { class: "models" });
  const register = modelRegisterForm(() => void load());
  const element = h("section", { class: "card", "aria-labelledby": "models-title" }, h("h2", { id: "models-title" }, "Model versions"),
    register.element, list);
  async function load() {
    try {
      const page = await modelVersions.list();
      replaceChildren(list, ...page.results.map((v) => h("li", null,
        h("strong", null, v.name), " ", h("span", { class: "muted" }, v.config_name || "config to be inferred"),
        v.status !== "ready" ? h("span", { class: `status status-${v.status}`, title: v.message || "" }, ` ${v.status}`) : "",
        v.status === "failed" && v.message ? h("div", { class: "muted model-message" }, v.message) : "",
        v.is_active ? h("span", { class: "badge" }, "active") : v.status !== "ready" ? "" : h("button", { type: "button", class: "chip",
          "aria-label": `Promote ${v.name}`, on: { click: async () => {
            if (!window.confirm(`Make ${v.name} the model of new sessions?`)) return;
            await modelVersions.promote(v.id).catch((error) => window.alert(errorText(error)));
            void load();
          } } }, "Promote"),
        metricPairs(v.metrics).length ? h("div", { class: "muted" }, metricPairs(v.metrics).join(" · ")) : "")));
      if (!page.results.length) list.append(h("li", { class: "muted" }, "No model version yet."));
      onVersions();
    } catch (error) {
      replaceChildren(list, h("li", { class: "muted" }, `Model versions could not be loaded: ${errorText(error)}`));
    }
  }
  void load();
  return { element, reload: load };
}

export function modelsSection(): Section {
  // Either list changing refreshes the other: a round's new version, a registered or promoted one.
  let retraining: ReturnType<typeof retrainingPanel> | null = null;
  const models = modelsPanel(() => void retraining?.reloadVersions());
  retraining = retrainingPanel(() => undefined, () => void models.reload());
  // The versions side by side, with their evaluation per protocol and an Evaluate button.
  const versions = versionsPanel(() => void models.reload());
  const versionsSlot = h("div", { class: "slot", dataset: { slot: "versions-panel" } }, versions.element);
  return { title: "Retraining & models", element: h("div", { class: "section-body" }, retraining.element, models.element, versionsSlot),
    unmount: () => retraining.stop() };
}
