/**
 * Admin section: videos. Upload (with ingest progress), filter by project, split and status, set a
 * video's split in its row or many at once (the checked rows), delete, queue annotation tasks and
 * automatic masklets. Pages of 50.
 */
import { videoAdmin, videos, type Video } from "../../api/platform";
import { tasks } from "../../api/queue";
import { session } from "../../api/session";
import { errorText, h, messageBox, replaceChildren } from "../dom";
import type { Section } from "./dashboard";
import { actionButton, field, options, projectSelect, SPLITS, type Split } from "./form-bits";
import { uploadPanel } from "./upload-panel";

const PAGE = 50;

export function videosSection(): Section {
  const message = messageBox();
  const tbody = h("tbody");
  const note = h("p", { class: "muted" });
  const project = projectSelect("all projects");
  const split = h("select", null, h("option", { value: "" }, "any split"), ...options(SPLITS));
  const status = h("select", null, h("option", { value: "" }, "any status"), ...options(["ready", "ingesting", "uploaded", "failed"]));
  const search = h("input", { type: "search", maxlength: 255, placeholder: "name" });
  const all = h("input", { type: "checkbox", "aria-label": "Select every video on this page", on: { change: () => {
    for (const box of boxes()) box.checked = all.checked;
    countChecked();
  } } });
  const bulkSplit = h("select", { "aria-label": "Split for the checked videos" }, ...options(SPLITS));
  bulkSplit.value = "train";
  const checkedNote = h("span", { class: "muted" }, "No video checked.");
  const bulkApply = actionButton("Set split of checked", async () => {
    const ids = boxes().filter((b) => b.checked).map((b) => Number(b.value));
    if (!ids.length) return message.show("Check the videos to assign first.");
    const done = await videoAdmin.bulkSplit(ids, bulkSplit.value as Split);
    message.show(`${done.updated} video${done.updated === 1 ? "" : "s"} now in ${done.split}.`, "info");
    void load();
  }, (text) => message.show(text));
  const prev = h("button", { type: "button", on: { click: () => ((page -= 1), void load()) } }, "Previous page");
  const next = h("button", { type: "button", on: { click: () => ((page += 1), void load()) } }, "Next page");
  let page = 1;
  const boxes = () => Array.from(tbody.querySelectorAll<HTMLInputElement>("input[type=checkbox]"));
  const countChecked = () => {
    const n = boxes().filter((b) => b.checked).length;
    checkedNote.textContent = n ? `${n} checked.` : "No video checked.";
  };
  for (const control of [project, split, status]) control.addEventListener("change", () => ((page = 1), void load()));
  search.addEventListener("input", () => ((page = 1), void load()));

  function row(v: Video): HTMLElement {
    const rowSplit = h("select", { "aria-label": `Split of ${v.name}`, on: { change: async () => {
      try {
        await videoAdmin.setSplit(v.id, rowSplit.value as Split);
        message.show(`“${v.name}” is now in ${rowSplit.value}.`, "info");
      } catch (error) {
        message.show(errorText(error));
        rowSplit.value = String(v.split);
      }
    } } }, ...options(SPLITS));
    rowSplit.value = String(v.split);
    const fail = (text: string) => message.show(text);
    const ready = v.status === "ready";
    return h("tr", { dataset: { videoId: String(v.id) } },
      h("td", null, h("input", { type: "checkbox", value: String(v.id), "aria-label": `Select ${v.name}`, on: { change: countChecked } })),
      h("td", null, v.thumbnail_url ? h("img", { src: v.thumbnail_url, alt: "", class: "thumb", loading: "lazy" }) : ""),
      h("td", null, v.name),
      h("td", null, h("span", { class: `status status-${v.status}`, title: v.status_message || "" }, String(v.status))),
      h("td", null, String(v.frame_count ?? "—")),
      h("td", null, v.width ? `${v.width}×${v.height}` : "—"),
      h("td", null, rowSplit),
      h("td", null, h("span", { class: "row" },
        ready ? actionButton("Queue a task", async () => {
          await tasks.create(v.id);
          message.show(`A task on “${v.name}” is in the annotation queue.`, "info");
        }, fail, { "aria-label": `Queue a task: ${v.name}` }) : "",
        ready ? actionButton("Auto masklets", async () => {
          await session.autoMasklets(v.id);
          message.show(`Automatic masklets for “${v.name}” started with the default thresholds (see Jobs, or Automatic masklets to choose them).`, "info");
        }, fail, { "aria-label": `Auto masklets: ${v.name}` }) : "",
        actionButton("Delete", async () => {
          if (!window.confirm(`Delete “${v.name}”, its frames and its annotations?`)) return;
          await videoAdmin.remove(v.id);
          message.show(`“${v.name}” deleted.`, "info");
          void load();
        }, fail, { "aria-label": `Delete ${v.name}`, class: "danger" }))));
  }

  async function load() {
    try {
      const result = await videos.list({ page, page_size: PAGE, project: project.value ? Number(project.value) : undefined,
        split: (split.value || undefined) as Split | undefined, status: (status.value || undefined) as Video["status"] | undefined,
        search: search.value || undefined });
      all.checked = false;
      replaceChildren(tbody, ...result.results.map(row));
      if (!result.results.length) tbody.append(h("tr", null, h("td", { colspan: 8, class: "muted" }, "No video matches.")));
      const pages = Math.max(1, Math.ceil(result.count / PAGE));
      note.textContent = `${result.count} videos; the newest first. Page ${page} of ${pages}.`;
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
      countChecked();
    } catch (error) {
      if ((error as { status?: number }).status === 404 && page > 1) {
        page = 1;
        return load();
      }
      note.textContent = `Videos could not be loaded: ${errorText(error)}`;
    }
  }
  void load();

  const upload = uploadPanel(() => void load());
  const element = h("div", { class: "section-body" }, upload.element,
    h("section", { class: "card", "aria-labelledby": "videos-title" },
      h("h2", { id: "videos-title" }, "Videos"),
      h("div", { class: "row wrap" }, field("Show videos of", project), field("In split", split), field("With status", status), field("Name contains", search)),
      h("div", { class: "row wrap bulk" }, checkedNote, bulkSplit, bulkApply),
      message.element, note,
      h("div", { class: "table-wrap" }, h("table", { class: "data" },
        h("thead", null, h("tr", null, h("th", { scope: "col" }, all),
          ...["", "Name", "Status", "Frames", "Size", "Split", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
        tbody)),
      h("div", { class: "row" }, prev, next)));
  return { title: "Videos", element };
}
