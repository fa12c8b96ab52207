/** Recent jobs with their progress, refreshed while any is unfinished; cancel for running ones. */
import { jobs, isTerminal, type Job } from "../../api/platform";
import { errorText, h, replaceChildren } from "../dom";

export function jobRow(job: Job, onCancel?: (job: Job) => void): HTMLElement {
  const { done, total, percent } = job.progress;
  const bar = h("progress", { max: 100, "aria-label": `Job ${job.id} progress` });
  if (percent !== null && percent !== undefined) bar.value = percent;
  return h("tr", { dataset: { jobId: String(job.id), status: String(job.status) } },
    h("td", null, String(job.id)),
    h("td", null, String(job.kind)),
    h("td", null, h("span", { class: `status status-${job.status}` }, String(job.status))),
    h("td", null, bar, ` ${done}/${total || "?"}`),
    h("td", { class: "job-message" }, job.message ?? ""),
    h("td", null, !isTerminal(job) && onCancel
      ? h("button", { type: "button", disabled: job.cancel_requested, "aria-label": `Cancel job ${job.id} (${job.kind})`,
        on: { click: () => onCancel(job) } }, "Cancel") : ""));
}

export function jobsPanel() {
  const tbody = h("tbody");
  const status = h("p", { class: "muted" });
  const element = h("section", { class: "card", "aria-labelledby": "jobs-title" },
    h("h2", { id: "jobs-title" }, "Jobs"), status,
    h("div", { class: "table-wrap" }, h("table", { class: "data" },
      h("thead", null, h("tr", null, ...["Id", "Kind", "Status", "Progress", "Message", ""].map((c) => h("th", { scope: "col" }, c)))),
      tbody)));
  let timer = 0;
  let stopped = false;

  async function load() {
    clearTimeout(timer);
    try {
      const page = await jobs.list({ page_size: 15 });
      replaceChildren(tbody, ...page.results.map((job) => jobRow(job, async (j) => {
        await jobs.cancel(j.id).catch((e) => (status.textContent = errorText(e)));
        void load();
      })));
      status.textContent = page.results.length ? `${page.count} jobs in all; the newest first.` : "No jobs yet.";
      const busy = page.results.some((j) => !isTerminal(j));
      if (!stopped) timer = window.setTimeout(load, busy ? 1500 : 10000);
    } catch (error) {
      status.textContent = `Jobs could not be loaded: ${errorText(error)}`;
    }
  }
  void load();
  return { element, reload: load, stop: () => ((stopped = true), clearTimeout(timer)) };
}
