/**
 * The label-set editor (admins): a project's labels with their colour and how many objects have
 * each; add, rename, recolour, delete (the API refuses deleting a label in use, with the reason).
 */
import { labels as labelsApi, type Label } from "../../api/labels";
import { projects, type Project } from "../../api/platform";
import { errorText, h, messageBox, replaceChildren } from "../dom";

export function labelsPanel() {
  const project = h("select", { id: "labels-project", on: { change: () => void load() } });
  const list = h("ul", { class: "labels", "aria-label": "Labels" });
  const message = messageBox();
  const name = h("input", { id: "label-name", type: "text", maxlength: 64, required: true, placeholder: "e.g. person" });
  const color = h("input", { id: "label-color", type: "color", value: "#ff7f0e", "aria-label": "Colour of the new label" });
  const form = h("form", { class: "row", on: { submit: (e) => {
    e.preventDefault();
    void add();
  } } }, h("label", { for: "label-name" }, "New label"), name, color, h("button", { type: "submit" }, "Add label"));
  const element = h("section", { class: "card", "aria-labelledby": "labels-title" },
    h("h2", { id: "labels-title" }, "Labels"),
    h("div", { class: "row" }, h("label", { for: "labels-project" }, "Label set of"), project), list, form, message.element);

  const projectId = () => Number(project.value);

  function row(label: Label) {
    const rename = h("input", { type: "text", value: label.name, maxlength: 64, "aria-label": `Label “${label.name}”` });
    const recolour = h("input", { type: "color", value: label.color, "aria-label": `Colour of “${label.name}”` });
    const save = async () => {
      const body: { name?: string; color?: string } = {};
      if (rename.value.trim() !== label.name) body.name = rename.value;
      if (recolour.value !== label.color) body.color = recolour.value;
      if (!Object.keys(body).length) return;
      await run(() => labelsApi.update(projectId(), label.id, body), `Label “${label.name}” saved.`);
    };
    return h("li", null,
      h("span", { class: "swatch", style: `background:${label.color}`, "aria-hidden": "true" }),
      rename, recolour,
      h("span", { class: "muted" }, `${label.objects} object${label.objects === 1 ? "" : "s"}`),
      h("button", { type: "button", "aria-label": `Save label ${label.name}`, on: { click: () => void save() } }, "Save"),
      h("button", { type: "button", class: "icon", "aria-label": `Delete label ${label.name}`, on: { click: () => {
        if (window.confirm(`Delete the label “${label.name}”?`)) void run(() => labelsApi.remove(projectId(), label.id), `Label “${label.name}” deleted.`);
      } } }, "✕"));
  }

  async function run(call: () => Promise<unknown>, done: string) {
    try {
      await call();
      message.show(done, "info");
    } catch (error) {
      message.show(errorText(error));
    }
    await load(false);
  }

  async function add() {
    if (!name.value.trim()) return;
    await run(() => labelsApi.create(projectId(), { name: name.value, color: color.value }), `Label “${name.value.trim()}” added.`);
    name.value = "";
  }

  async function load(clear = true) {
    if (!projectId()) return;
    if (clear) message.clear();
    try {
      replaceChildren(list, ...(await labelsApi.list(projectId())).map(row));
    } catch (error) {
      message.show(`Labels could not be loaded: ${errorText(error)}`);
    }
  }

  async function loadProjects() {
    const list = (await projects.list()).results as Project[];
    replaceChildren(project, ...list.map((p) => h("option", { value: String(p.id) }, p.name)));
    if (!list.length) message.show("There is no project yet: create one first.", "info");
  }
  loadProjects().then(() => load()).catch((error) => message.show(errorText(error)));

  /** Show the label set of project ``id`` (the projects table's "Label set" button); a project
   * created since the list was loaded gets its name by loading the list again. */
  async function pick(id: number) {
    const known = () => [...project.options].some((o) => o.value === String(id));
    if (!known()) await loadProjects().catch(() => undefined);
    if (!known()) project.append(h("option", { value: String(id) }, `Project ${id}`));
    project.value = String(id);
    void load();
    element.scrollIntoView({ block: "nearest" });
  }

  return { element, reload: () => load(), pick };
}
