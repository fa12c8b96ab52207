/**
 * Admin section: projects. Create one (name, phase, annotation fps, model version), and change a
 * project's phase, fps and model version in its row. The label-set editor (labels-panel.ts) is under
 * the table; a row's "Label set" button shows that project's labels in it.
 */
import { projectAdmin, projects, type Project } from "../../api/platform";
import { modelVersions, type ModelVersion } from "../../api/queue";
import { errorText, h, messageBox, replaceChildren } from "../dom";
import type { Section } from "./dashboard";
import { actionButton, field, options } from "./form-bits";
import { labelsPanel } from "./labels-panel";

const PHASE_NAMES: Record<number, string> = { 1: "1: SAM per frame", 2: "2: SAM + mask propagation", 3: "3: full SAM 2" };

function phaseSelect(value = 3): HTMLSelectElement {
  const select = h("select", null, ...options([1, 2, 3], (p) => PHASE_NAMES[Number(p)]));
  select.value = String(value);
  return select;
}

function versionSelect(list: ModelVersion[], value: number | null): HTMLSelectElement {
  const select = h("select", null, h("option", { value: "" }, "the active version"),
    ...list.filter((v) => v.status === "ready").map((v) => h("option", { value: String(v.id) }, v.name)));
  select.value = value ? String(value) : "";
  return select;
}

export function projectsSection(): Section {
  const message = messageBox();
  const tbody = h("tbody");
  let versions: ModelVersion[] = [];
  // The label-set editor, under the table: the "Label set" button of a row picks its project.
  const labelsEditor = labelsPanel();
  const labelsSlot = h("div", { class: "slot", dataset: { slot: "labels-panel" } }, labelsEditor.element);

  const name = h("input", { required: true, maxlength: 200, autocomplete: "off" });
  const description = h("input", { maxlength: 20000 });
  const phase = phaseSelect();
  const fps = h("input", { type: "number", min: 0.1, max: 120, step: "any", value: "6" });
  const version = h("select");
  const create = h("form", { class: "row wrap", "aria-label": "New project", on: { submit: async (event) => {
    event.preventDefault();
    message.clear();
    try {
      const made = await projectAdmin.create({ name: name.value.trim(), description: description.value, phase: Number(phase.value) as 1 | 2 | 3,
        annotation_fps: Number(fps.value), model_version: version.value ? Number(version.value) : null });
      message.show(`Project “${made.name}” created (phase ${made.phase}, ${made.annotation_fps} fps).`, "info");
      name.value = "";
      description.value = "";
      void load();
    } catch (error) {
      message.show(errorText(error));
    }
  } } },
    field("Project name", name), field("Description", description), field("Phase", phase), field("Annotation fps", fps),
    field("Model version", version), h("button", { type: "submit", class: "primary" }, "Create project"));

  function row(p: Project): HTMLElement {
    const rowPhase = phaseSelect(Number(p.phase));
    rowPhase.setAttribute("aria-label", `Phase of ${p.name}`);
    const rowFps = h("input", { type: "number", min: 0.1, max: 120, step: "any", value: String(p.annotation_fps), class: "narrow",
      "aria-label": `Annotation fps of ${p.name}` });
    const rowVersion = versionSelect(versions, p.model_version ?? null);
    rowVersion.setAttribute("aria-label", `Model version of ${p.name}`);
    const save = actionButton("Save", async () => {
      const changed = await projectAdmin.update(p.id, { phase: Number(rowPhase.value) as 1 | 2 | 3, annotation_fps: Number(rowFps.value),
        model_version: rowVersion.value ? Number(rowVersion.value) : null });
      message.show(`“${changed.name}” saved: phase ${changed.phase}, ${changed.annotation_fps} fps.`, "info");
    }, (text) => message.show(text), { "aria-label": `Save ${p.name}` });
    const labels = h("button", { type: "button", "aria-label": `Label set of ${p.name}`, on: { click: () => {
      labelsSlot.dataset.project = String(p.id);
      void labelsEditor.pick(p.id);
    } } }, "Label set");
    return h("tr", { dataset: { projectId: String(p.id) } },
      h("td", null, p.name, p.description ? h("div", { class: "muted" }, p.description) : ""),
      h("td", null, rowPhase), h("td", null, rowFps), h("td", null, rowVersion),
      h("td", null, String(p.video_count ?? 0)), h("td", null, h("span", { class: "row" }, save, labels)));
  }

  async function load() {
    try {
      const [page, versionPage] = await Promise.all([projects.list(), modelVersions.list()]);
      versions = versionPage.results;
      const picked = version.value;
      replaceChildren(version, ...versionSelect(versions, picked ? Number(picked) : null).childNodes);
      replaceChildren(tbody, ...(page.results as Project[]).map(row));
      if (!page.results.length) tbody.append(h("tr", null, h("td", { colspan: 6, class: "muted" }, "No project yet: create the first above.")));
    } catch (error) {
      message.show(`Projects could not be loaded: ${errorText(error)}`);
    }
  }
  void load();

  const element = h("section", { class: "card", "aria-labelledby": "projects-title" },
    h("h2", { id: "projects-title" }, "Projects"), create, message.element,
    h("div", { class: "table-wrap" }, h("table", { class: "data" },
      h("thead", null, h("tr", null, ...["Project", "Phase", "Annotation fps", "Model version", "Videos", ""].map((c) => h("th", { scope: "col" }, c)))),
      tbody)),
    labelsSlot);
  return { title: "Projects", element };
}
