/**
 * Admin section: the annotation tasks, filtered by status, phase, project and annotator; change a
 * task's priority, keep a queued task for one annotator, take a lease back (release), reopen a
 * submitted task. Pages of 50.
 */
import { users, type User } from "../../api/platform";
import { taskAdmin, type Task } from "../../api/queue";
import { errorText, h, messageBox, replaceChildren } from "../dom";
import type { Section } from "./dashboard";
import { actionButton, field, options, projectSelect } from "./form-bits";

const PAGE = 50;
const STATUSES = ["queued", "leased", "submitted", "cancelled"] as const;

export function tasksSection(): Section {
  const message = messageBox();
  const note = h("p", { class: "muted" });
  const tbody = h("tbody");
  const status = h("select", null, h("option", { value: "" }, "any status"), ...options(STATUSES));
  const phase = h("select", null, h("option", { value: "" }, "any phase"), ...options([1, 2, 3], (p) => `phase ${p}`));
  const project = projectSelect("all projects");
  const assignee = h("select", null, h("option", { value: "" }, "anyone"));
  const prev = h("button", { type: "button", on: { click: () => ((page -= 1), void load()) } }, "Previous page");
  const next = h("button", { type: "button", on: { click: () => ((page += 1), void load()) } }, "Next page");
  let page = 1;
  let annotators: User[] = [];
  for (const control of [status, phase, project, assignee]) control.addEventListener("change", () => ((page = 1), void load()));
  const fail = (text: string) => message.show(text);

  function row(t: Task): HTMLElement {
    const priority = h("input", { type: "number", min: -1000, max: 1000, step: 1, value: String(t.priority), class: "narrow",
      "aria-label": `Priority of task ${t.id}`, disabled: t.status === "submitted" || t.status === "cancelled",
      on: { change: async () => {
        try {
          const changed = await taskAdmin.update(t.id, { priority: Number(priority.value) });
          message.show(`Task ${t.id} now has priority ${changed.priority}.`, "info");
        } catch (error) {
          message.show(errorText(error));
          priority.value = String(t.priority);
        }
      } } });
    let who: HTMLElement | string = t.assignee ?? "—";
    if (t.status === "queued") {
      const select = h("select", { "aria-label": `Assign task ${t.id}`, on: { change: async () => {
        try {
          const changed = await taskAdmin.update(t.id, { assignee: select.value ? Number(select.value) : null });
          message.show(changed.assignee ? `Task ${t.id} is kept for ${changed.assignee}.` : `Task ${t.id} is open to every annotator.`, "info");
        } catch (error) {
          message.show(errorText(error));
        }
      } } }, h("option", { value: "" }, "anyone"), ...annotators.map((u) => h("option", { value: String(u.id) }, u.username)));
      const current = annotators.find((u) => u.username === t.assignee);
      if (t.assignee && !current) select.append(h("option", { value: "", selected: true }, t.assignee));
      else select.value = current ? String(current.id) : "";
      who = select;
    }
    const actions = h("span", { class: "row" });
    if (t.status === "leased") {
      actions.append(actionButton("Release", async () => {
        if (!window.confirm(`Take task ${t.id} back from ${t.assignee}? Their saved work stays; the task returns to the queue.`)) return;
        await taskAdmin.release(t.id);
        message.show(`Task ${t.id} is back in the queue.`, "info");
        void load();
      }, fail, { "aria-label": `Release task ${t.id}` }));
    }
    if (t.status === "submitted" || t.status === "cancelled") {
      actions.append(actionButton("Reopen", async () => {
        const changed = await taskAdmin.reopen(t.id);
        message.show(`Task ${t.id} is queued again${changed.assignee ? `, kept for ${changed.assignee}` : ""}.`, "info");
        void load();
      }, fail, { "aria-label": `Reopen task ${t.id}` }));
    }
    return h("tr", { dataset: { taskId: String(t.id), status: String(t.status) } },
      h("td", null, String(t.id)), h("td", null, t.video_name), h("td", null, String(t.kind)), h("td", null, String(t.phase)),
      h("td", null, h("span", { class: `status status-${t.status}` }, String(t.status))),
      h("td", null, priority), h("td", null, who), h("td", null, actions));
  }

  async function load() {
    try {
      const result = await taskAdmin.list({ page, page_size: PAGE, status: (status.value || undefined) as Task["status"] | undefined,
        phase: phase.value ? (Number(phase.value) as 1 | 2 | 3) : undefined, project: project.value ? Number(project.value) : undefined,
        assignee: assignee.value ? Number(assignee.value) : undefined });
      replaceChildren(tbody, ...result.results.map(row));
      if (!result.results.length) tbody.append(h("tr", null, h("td", { colspan: 8, class: "muted" }, "No task matches.")));
      const pages = Math.max(1, Math.ceil(result.count / PAGE));
      note.textContent = `${result.count} tasks, highest priority first. Page ${page} of ${pages}.`;
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
    } catch (error) {
      note.textContent = `Tasks could not be loaded: ${errorText(error)}`;
    }
  }

  users.list({ role: "annotator", is_active: true, page_size: 500 }).then((page) => {
    annotators = page.results;
    replaceChildren(assignee, h("option", { value: "" }, "anyone"), ...annotators.map((u) => h("option", { value: String(u.id) }, u.username)));
    void load();
  }).catch((error) => {
    message.show(`Annotators could not be loaded: ${errorText(error)}`);
    void load();
  });

  const element = h("section", { class: "card", "aria-labelledby": "tasks-title" },
    h("h2", { id: "tasks-title" }, "Annotation tasks"),
    h("div", { class: "row wrap" }, field("Status", status), field("Phase", phase), field("Project", project), field("Annotator", assignee)),
    message.element, note,
    h("div", { class: "table-wrap" }, h("table", { class: "data" },
      h("thead", null, h("tr", null, ...["Id", "Video", "Kind", "Phase", "Status", "Priority", "Assigned to", ""].map((c) => h("th", { scope: "col" }, c)))),
      tbody)),
    h("div", { class: "row" }, prev, next));
  return { title: "Tasks", element };
}
