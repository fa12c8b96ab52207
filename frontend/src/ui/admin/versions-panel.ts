/**
 * Model versions side by side: config, size, source, parent, J&F per protocol on the held-out split
 * (a round's own evaluation, or the latest "Evaluate" of the version), and the promotion gate's
 * comparison for a round's version (gain ± noise against the version active then, promoted or kept).
 * "Evaluate" scores a version on a project's held-out split (a Job); "Promote" stays the admin's.
 */
import { followJob, projects } from "../../api/platform";
import { type ModelVersion, modelVersions } from "../../api/queue";
import { errorText, h, messageBox, replaceChildren } from "../dom";

export const PROTOCOLS = ["mask", "1-click", "box"] as const;

type Scores = Record<string, { jf?: number; objects?: number } | undefined>;
type Evaluation = { project?: number; project_name?: string; split?: string; scores?: Scores; evaluated_at?: string };
type Gate = { promote?: boolean; gain?: number | null; noise?: number | null; objects?: number; against?: string; reason?: string };

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The scores to show for a version and where they come from: the latest evaluation of the chosen
 * split, else (for val) the retraining round's own held-out evaluation. */
export function versionScores(version: Pick<ModelVersion, "metrics">, split = "val"): { scores: Scores | null; source: string } {
  const metrics = record(version.metrics);
  const evaluations = Object.values(record(metrics.evaluations)) as Evaluation[];
  const latest = evaluations.filter((e) => e.split === split && e.scores)
    .sort((a, b) => String(b.evaluated_at ?? "").localeCompare(String(a.evaluated_at ?? "")))[0];
  if (latest) return { scores: latest.scores ?? null, source: `${latest.project_name ?? `project ${latest.project}`} ${split}` };
  if (split === "val" && metrics.val && typeof metrics.val === "object") return { scores: metrics.val as Scores, source: "round's val" };
  return { scores: null, source: "" };
}

export function gateText(version: Pick<ModelVersion, "metrics">): string {
  const gate = record(record(version.metrics).gate) as Gate;
  if (gate.gain === undefined && !gate.reason) return "";
  if (gate.gain === null || gate.gain === undefined) return gate.reason ?? "";
  const sign = gate.gain >= 0 ? "+" : "−";
  return `${sign}${Math.abs(gate.gain).toFixed(1)} ± ${(gate.noise ?? 0).toFixed(1)} vs ${gate.against} (${gate.objects} objects): ` +
    (gate.promote ? "promoted by the gate" : "kept by the gate");
}

function sizeText(bytes: number | undefined): string {
  if (!bytes) return "shipped";
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

export function versionsPanel(onChange: () => void = () => {}) {
  const message = messageBox();
  const project = h("select", { id: "versions-project", "aria-label": "Project whose held-out split scores" });
  const split = h("select", { id: "versions-split", "aria-label": "Held-out split" },
    h("option", { value: "val" }, "val (development)"), h("option", { value: "test" }, "test (untouched)"));
  const head = h("tr", null, ...["Version", "Config", "Size", "Source", "Parent", ...PROTOCOLS.map((p) => `J&F ${p}`),
    "Scored on", "Gate", ""].map((label) => h("th", { scope: "col" }, label)));
  const tbody = h("tbody");
  const table = h("table", { class: "versions", "aria-label": "Model versions side by side" }, h("thead", null, head), tbody);
  const element = h("section", { class: "card", "aria-labelledby": "versions-title" },
    h("h2", { id: "versions-title" }, "Compare versions"),
    h("div", { class: "form-row" }, h("label", { for: "versions-project" }, "Held-out split of"), project, split),
    table, message.element);
  let versions: ModelVersion[] = [];

  function render() {
    const byId = new Map(versions.map((v) => [v.id, v]));
    replaceChildren(tbody, ...versions.map((v) => {
      const { scores, source } = versionScores(v, split.value);
      const cells = PROTOCOLS.map((p) => {
        const jf = scores?.[p]?.jf;
        return h("td", { class: "num" }, typeof jf === "number" && Number.isFinite(jf) ? jf.toFixed(1) : "—");
      });
      const evaluate = h("button", { type: "button", class: "chip", "aria-label": `Evaluate ${v.name}`,
        disabled: v.status !== "ready", on: { click: () => void run(v, evaluate) } }, "Evaluate");
      return h("tr", { dataset: { versionId: String(v.id) } },
        h("th", { scope: "row" }, v.name, v.is_active ? h("span", { class: "badge" }, " active") : ""),
        h("td", null, v.config_name || "—"),
        h("td", null, sizeText(v.size_bytes)),
        h("td", { class: "muted" }, v.source || (v.parent ? "retraining round" : v.checkpoint_key ? "storage" : "shipped")),
        h("td", null, v.parent ? byId.get(v.parent)?.name ?? `#${v.parent}` : "—"),
        ...cells,
        h("td", { class: "muted" }, source || "not scored"),
        h("td", { class: "muted" }, gateText(v)),
        h("td", null, evaluate));
    }));
    if (!versions.length) tbody.append(h("tr", null, h("td", { colspan: 11, class: "muted" }, "No model version yet.")));
  }

  async function run(version: ModelVersion, button: HTMLButtonElement) {
    message.clear();
    const chosen = Number(project.value);
    if (!chosen) {
      message.show("Choose the project whose held-out split scores the version.");
      return;
    }
    button.disabled = true;
    button.textContent = "Evaluating…";
    try {
      const job = await followJob(await modelVersions.evaluate(version.id, { project: chosen, split: split.value as "val" | "test", max_videos: 20 }));
      if (job.status === "succeeded") message.show(`${version.name}: ${job.message}`, "info");
      else message.show(`${version.name} was not evaluated: ${job.message || job.status}`);
      await load();
      onChange();
    } catch (error) {
      message.show(errorText(error));
    } finally {
      button.disabled = false;
      button.textContent = "Evaluate";
    }
  }

  async function load() {
    try {
      const [page, projectPage] = await Promise.all([modelVersions.list(), project.options.length ? null : projects.list()]);
      if (projectPage) {
        replaceChildren(project, h("option", { value: "" }, "choose a project"),
          ...projectPage.results.map((p) => h("option", { value: String(p.id) }, p.name)));
      }
      versions = page.results;
      render();
    } catch (error) {
      message.show(`Model versions could not be loaded: ${errorText(error)}`);
    }
  }
  split.addEventListener("change", render);
  void load();
  return { element, reload: load };
}
