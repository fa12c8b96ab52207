/** Video upload into a project: upload progress (bytes), then the ingest job's progress (frames). */
import { followJob, projects, videos, type Job, type Project } from "../../api/platform";
import { errorText, h, messageBox, replaceChildren } from "../dom";

export function uploadPanel(onChange: () => void) {
  const project = h("select", { id: "upload-project", required: true });
  const file = h("input", { id: "upload-file", type: "file", accept: "video/*", required: true });
  const uploadBar = h("progress", { max: 100, value: 0, "aria-label": "Upload progress" });
  const ingestBar = h("progress", { max: 100, value: 0, "aria-label": "Ingest progress" });
  const uploadLabel = h("span", { class: "progress-label" });
  const ingestLabel = h("span", { class: "progress-label", id: "ingest-status" });
  const progress = h("div", { class: "upload-progress", hidden: true },
    h("div", null, "Upload ", uploadBar, uploadLabel), h("div", null, "Ingest ", ingestBar, ingestLabel));
  const message = messageBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Upload");
  const form = h("form", { class: "upload-form", on: { submit: (e) => {
    e.preventDefault();
    void run();
  } } },
    h("label", { for: "upload-project" }, "Project"), project,
    h("label", { for: "upload-file" }, "Video file"), file, submit);
  const element = h("section", { class: "card", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Upload a video"), form, progress, message.element);

  projects.list().then((page) => {
    const list = page.results as Project[];
    replaceChildren(project, ...list.map((p) => h("option", { value: String(p.id) }, `${p.name} (phase ${p.phase})`)));
    if (!list.length) message.show("There is no project yet: create one first (Projects section).", "info");
  }).catch((error) => message.show(errorText(error)));

  async function run() {
    const chosen = file.files?.[0];
    if (!chosen || !project.value) return;
    message.clear();
    submit.disabled = true;
    progress.hidden = false;
    uploadBar.value = 0;
    ingestBar.value = 0;
    ingestLabel.textContent = "waiting for the upload";
    try {
      const created = await videos.upload(Number(project.value), chosen, (loaded, total) => {
        uploadBar.value = total ? (100 * loaded) / total : 0;
        uploadLabel.textContent = ` ${(loaded / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`;
      });
      uploadBar.value = 100;
      onChange();
      const job = await followJob(created.job, showIngest, 700);
      const video = await videos.get(created.video.id);
      if (job.status === "succeeded") message.show(`“${video.name}” is ready: ${video.frame_count} frames at ${video.width}×${video.height}.`, "info");
      else message.show(`Ingest ${job.status}: ${job.message || video.status_message || "no message"}`);
      onChange();
    } catch (error) {
      message.show(errorText(error));
    } finally {
      submit.disabled = false;
    }
  }

  function showIngest(job: Job): void {
    const { done, total, percent } = job.progress;
    if (percent !== null && percent !== undefined) ingestBar.value = percent;
    ingestLabel.textContent = ` ${job.status}${total ? `: ${done}/${total}` : ""}`;
  }
  return { element };
}
