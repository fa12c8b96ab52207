/**
 * Admin section: exports (format, scope: a project or chosen videos, accepted or all masklets,
 * manual and/or automatic; progress; a download link) and the recent exports; imports of SA-V
 * JSON files or DAVIS PNG zips into a video.
 */
import { followJob, jobs, videos, type Job, type Video } from "../../api/platform";
import { exchange, type ExportRequest } from "../../api/queue";
import { errorText, h, messageBox, replaceChildren } from "../dom";
import type { Section } from "./dashboard";
import { field, options, projectSelect } from "./form-bits";

const FORMATS: [string, string][] = [["sav", "SA-V JSON"], ["coco", "COCO (RLE, tracks)"], ["davis", "DAVIS palette PNGs"],
  ["sav_png", "SA-V PNGs per object"]];

function size(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

async function downloadLink(job: Job): Promise<HTMLElement> {
  const got = await exchange.download(job.id);
  return h("a", { href: got.url, download: got.filename, class: "download" }, `Download ${got.filename} (${size(got.size_bytes)})`);
}

export function exchangeSection(): Section {
  let stopped = false;
  const follow = (job: Job, bar: HTMLProgressElement, label: HTMLElement) => followJob(job, (j) => {
    if (stopped) throw new Error("left");
    if (j.progress.percent !== null && j.progress.percent !== undefined) bar.value = j.progress.percent;
    label.textContent = `${j.status} ${j.progress.done}/${j.progress.total || "?"}`;
  });

  // ---- Export
  const exportMessage = messageBox();
  const format = h("select", null, ...FORMATS.map(([v, l]) => h("option", { value: v }, l)));
  const scope = h("select", null, h("option", { value: "project" }, "a whole project"), h("option", { value: "videos" }, "chosen videos"));
  const project = projectSelect();
  const videoList = h("select", { multiple: true, size: 6 });
  const videoField = field("Videos", videoList);
  const projectField = field("Project to export", project);
  videoField.hidden = true;
  scope.addEventListener("change", () => {
    videoField.hidden = scope.value !== "videos";
    projectField.hidden = scope.value === "videos";
  });
  const masklets = h("select", null, h("option", { value: "accepted" }, "accepted only (the dataset)"), h("option", { value: "all" }, "all with masks"));
  const manual = h("input", { type: "checkbox", checked: true });
  const auto = h("input", { type: "checkbox", checked: true });
  const exportBar = h("progress", { max: 100, value: 0, "aria-label": "Export progress" });
  const exportLabel = h("span", { class: "progress-label" });
  const exportProgress = h("div", { hidden: true }, exportBar, " ", exportLabel);
  const exportResult = h("div", { class: "export-result" });
  const exportButton = h("button", { type: "submit", class: "primary" }, "Export");
  const recent = h("ul", { class: "exports" });
  const exportForm = h("form", { class: "row wrap", "aria-label": "New export", on: { submit: async (event) => {
    event.preventDefault();
    exportMessage.clear();
    replaceChildren(exportResult);
    const kinds = [manual.checked ? "manual" : "", auto.checked ? "auto" : ""].filter(Boolean) as ExportRequest["kinds"];
    const body: ExportRequest = { format: format.value as ExportRequest["format"], masklets: masklets.value as ExportRequest["masklets"], kinds };
    if (scope.value === "videos") body.videos = Array.from(videoList.selectedOptions).map((o) => Number(o.value));
    else body.project = Number(project.value);
    exportButton.disabled = true;
    try {
      const done = await follow(await exchange.exportStart(body), exportBar, exportLabel);
      exportProgress.hidden = false;
      if (done.status !== "succeeded") throw new Error(`The export ${done.status}: ${done.message || "no reason given"}`);
      replaceChildren(exportResult, h("p", null, done.message ?? "Exported."), await downloadLink(done));
      void loadRecent();
    } catch (error) {
      if (!stopped) exportMessage.show(errorText(error));
    } finally {
      exportButton.disabled = false;
    }
  } } },
    field("Format", format), field("Scope", scope), projectField, videoField, field("Masklets", masklets),
    field("Manual", manual), field("Automatic", auto), exportButton);
  exportForm.addEventListener("submit", () => (exportProgress.hidden = false));

  async function loadRecent() {
    try {
      const page = await jobs.list({ kind: "export", page_size: 10 });
      replaceChildren(recent, ...page.results.map((j) => {
        const item = h("li", { dataset: { jobId: String(j.id) } }, `Export ${j.id}: `, h("span", { class: `status status-${j.status}` }, String(j.status)),
          " ", h("span", { class: "muted" }, j.message ?? ""), " ");
        if (j.status === "succeeded") downloadLink(j).then((a) => item.append(a)).catch(() => undefined);
        return item;
      }));
      if (!page.results.length) recent.append(h("li", { class: "muted" }, "No export yet."));
    } catch (error) {
      replaceChildren(recent, h("li", { class: "muted" }, `Exports could not be loaded: ${errorText(error)}`));
    }
  }

  // ---- Import
  const importMessage = messageBox();
  const importVideo = h("select", { required: true });
  const files = h("input", { type: "file", multiple: true, accept: ".json,.zip", required: true });
  const importStatus = h("select", null, ...options(["accepted", "submitted", "draft"]));
  const importKind = h("select", null, ...options(["manual", "auto"]));
  const importBar = h("progress", { max: 100, value: 0, "aria-label": "Import progress" });
  const importLabel = h("span", { class: "progress-label" });
  const importButton = h("button", { type: "submit", class: "primary" }, "Import");
  const importForm = h("form", { class: "row wrap", "aria-label": "Import annotations", on: { submit: async (event) => {
    event.preventDefault();
    importMessage.clear();
    const chosen = Array.from(files.files ?? []);
    if (!chosen.length || !importVideo.value) return importMessage.show("Pick a video and one or two files.");
    importButton.disabled = true;
    try {
      const done = await follow(await exchange.importFiles(Number(importVideo.value), chosen, importStatus.value, importKind.value), importBar, importLabel);
      if (done.status !== "succeeded") throw new Error(`The import ${done.status}: ${done.message || "no reason given"}`);
      importMessage.show(done.message ?? "Imported.", "info");
    } catch (error) {
      if (!stopped) importMessage.show(errorText(error));
    } finally {
      importButton.disabled = false;
    }
  } } },
    field("Into video", importVideo), field("SA-V JSON or DAVIS zip", files), field("Imported as", importStatus), field("Kind (PNG zips)", importKind),
    importButton, importBar, importLabel);

  videos.list({ status: "ready", page_size: 500 }).then((page) => {
    const opts = (list: Video[]) => list.map((v) => h("option", { value: String(v.id) }, v.name));
    replaceChildren(videoList, ...opts(page.results));
    replaceChildren(importVideo, ...opts(page.results));
  }).catch((error) => importMessage.show(errorText(error)));
  void loadRecent();

  const element = h("div", { class: "section-body" },
    h("section", { class: "card", "aria-labelledby": "export-title" }, h("h2", { id: "export-title" }, "Export"),
      exportForm, exportMessage.element, exportProgress, exportResult, h("h3", null, "Recent exports"), recent),
    h("section", { class: "card", "aria-labelledby": "import-title" }, h("h2", { id: "import-title" }, "Import"),
      h("p", { class: "muted" }, "SA-V annotation files (the video's _manual.json and/or _auto.json) or a zip of DAVIS PNG folders."),
      importForm, importMessage.element));
  return { title: "Exports & imports", element, unmount: () => void (stopped = true) };
}
