/** The admin dashboard: Table 1 metrics, throughput and acceptance, jobs, video upload and ingest, videos, model versions. */
import { videos } from "../../api/platform";
import { modelVersions, tasks } from "../../api/queue";
import { session } from "../../api/session";
import type { AppContext } from "../app";
import { errorText, h, replaceChildren, type Screen } from "../dom";
import { figuresPanel } from "./figures-panel";
import { jobsPanel } from "./jobs-panel";
import { metricPairs } from "./metrics-format";
import { retrainingPanel } from "./retraining-panel";
import { metricsPanel } from "./metrics-panel";
import { modelRegisterForm } from "./model-register-panel";
import { uploadPanel } from "./upload-panel";
import { verifierPanel } from "./verifier-panel";

function videosPanel(onJob: () => void) {
  const tbody = h("tbody");
  const note = h("p", { class: "muted" });
  const element = h("section", { class: "card", "aria-labelledby": "videos-title" },
    h("h2", { id: "videos-title" }, "Videos"), note,
    h("div", { class: "table-wrap" }, h("table", { class: "data" },
      h("thead", null, h("tr", null, ...["", "Name", "Status", "Frames", "Size", "Split", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
      tbody)));
  function videoActions(id: number, name: string) {
    const act = (label: string, run: () => Promise<unknown>, done: string) =>
      h("button", { type: "button", "aria-label": `${label}: ${name}`, on: { click: async (event) => {
        const button = event.currentTarget as HTMLButtonElement;
        button.disabled = true;
        try {
          await run();
          note.textContent = done;
          onJob();
        } catch (error) {
          note.textContent = `${label} failed: ${errorText(error)}`;
        } finally {
          button.disabled = false;
        }
      } } }, label);
    return h("span", { class: "row" },
      act("Queue a task", () => tasks.create(id), `A task on “${name}” is in the annotation queue.`),
      act("Auto masklets", () => session.autoMasklets(id), `Automatic masklets for “${name}” started (see Jobs).`));
  }

  async function load() {
    try {
      const page = await videos.list({ page_size: 10 });
      note.textContent = `${page.count} videos; the newest first.`;
      replaceChildren(tbody, ...page.results.map((v) => h("tr", null,
        h("td", null, v.thumbnail_url ? h("img", { src: v.thumbnail_url, alt: "", class: "thumb", loading: "lazy" }) : ""),
        h("td", null, v.name),
        h("td", null, h("span", { class: `status status-${v.status}`, title: v.status_message || "" }, String(v.status))),
        h("td", null, String(v.frame_count ?? "—")),
        h("td", null, v.width ? `${v.width}×${v.height}` : "—"),
        h("td", null, String(v.split ?? "")),
        h("td", null, v.status === "ready" ? videoActions(v.id, v.name) : ""))));
    } catch (error) {
      note.textContent = `Videos could not be loaded: ${errorText(error)}`;
    }
  }
  void load();
  return { element, reload: load };
}

function modelsPanel() {
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
    } catch (error) {
      replaceChildren(list, h("li", { class: "muted" }, `Model versions could not be loaded: ${errorText(error)}`));
    }
  }
  void load();
  return { element };
}

export function dashboardScreen(_ctx: AppContext): Screen {
  const metrics = metricsPanel();
  const jobs = jobsPanel();
  const videoList = videosPanel(() => void jobs.reload());
  const retraining = retrainingPanel(() => void jobs.reload());
  const upload = uploadPanel(() => {
    void jobs.reload();
    void videoList.reload();
  });
  const element = h("section", { class: "dashboard", "aria-labelledby": "dashboard-title" },
    h("h1", { id: "dashboard-title" }, "Admin dashboard"),
    metrics.element,
    figuresPanel().element,
    h("div", { class: "grid-2" }, upload.element, modelsPanel().element),
    retraining.element,
    verifierPanel().element,
    jobs.element,
    videoList.element);
  return { element, unmount: () => (jobs.stop(), retraining.stop()) };
}
