/**
 * Admin section: automatic masklets for a ready video, with SAM's generator thresholds in the form.
 * The job's result says how many candidates each filter kept (grid points, masks predicted, IoU,
 * stability, duplicates, size, the cap), so "0 masklets" names the threshold that removed them.
 */
import { followJob, videos, type Job, type Video } from "../../api/platform";
import { session } from "../../api/session";
import { errorText, h, messageBox, replaceChildren } from "../dom";
import type { Section } from "./dashboard";
import { field } from "./form-bits";

type Params = Record<string, number>;
// Name → [label, default, min, max, step]: the server's ranges (annotation/services/automasklets.py).
const FIELDS: [string, string, number, number, number, number][] = [
  ["points_per_side", "Points per side", 32, 1, 64, 1],
  ["pred_iou_thresh", "Predicted IoU threshold", 0.8, 0, 1, 0.01],
  ["stability_score_thresh", "Stability threshold", 0.95, 0, 1, 0.01],
  ["box_nms_thresh", "Duplicate (box NMS) threshold", 0.7, 0, 1, 0.01],
  ["min_region_area", "Minimum region area (px)", 0, 0, 1_000_000, 1],
  ["crop_n_layers", "Crop layers", 0, 0, 3, 1],
  ["max_masklets", "At most masklets", 100, 1, 1000, 1],
  ["points_per_batch", "Points per batch", 64, 1, 1024, 1],
];

interface FilterCount { filter: string; label: string; kept: number }

/** The result of an automatic-masklets job: the count, and per filter what it kept. */
export function autoResult(job: Job): HTMLElement {
  const result = (job.result ?? {}) as { masklets?: number[]; filters?: FilterCount[] };
  const made = result.masklets?.length ?? 0;
  const filters = result.filters ?? [];
  const emptiedBy = filters.find((f, i) => f.kept === 0 && (i === 0 || filters[i - 1].kept > 0));
  return h("div", { class: "auto-result", "aria-label": "Automatic masklets result" },
    h("p", null, h("strong", null, `${made} masklet${made === 1 ? "" : "s"}`), " went to verification.",
      made === 0 && emptiedBy ? ` None passed “${emptiedBy.label}”: loosen that threshold and run again.` : ""),
    filters.length ? h("table", { class: "data funnel" },
      h("caption", null, "Candidates on the first frame, filter by filter"),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Step"), h("th", { scope: "col" }, "Kept"))),
      h("tbody", null, ...filters.map((f) => h("tr", { dataset: { filter: f.filter } }, h("td", null, f.label), h("td", null, String(f.kept)))))) : "");
}

export function autoMaskletsSection(): Section {
  const message = messageBox();
  const video = h("select", { required: true });
  const inputs = FIELDS.map(([name, , value, min, max, step]) => h("input", { type: "number", name, value: String(value), min, max, step, class: "narrow" }));
  const bar = h("progress", { max: 100, value: 0, "aria-label": "Automatic masklets progress" });
  const progressLabel = h("span", { class: "progress-label" });
  const progress = h("div", { hidden: true }, bar, " ", progressLabel);
  const result = h("div");
  const launch = h("button", { type: "submit", class: "primary" }, "Make automatic masklets");
  let stopped = false;

  const form = h("form", { class: "auto-form", "aria-label": "Automatic masklets", on: { submit: async (event) => {
    event.preventDefault();
    message.clear();
    replaceChildren(result);
    if (!video.value) return message.show("Pick a ready video first.");
    const params: Params = {};
    for (const input of inputs) params[input.name] = Number(input.value);
    launch.disabled = true;
    try {
      const started = await session.autoMasklets(Number(video.value), params);
      progress.hidden = false;
      const done = await followJob(started, (job) => {
        if (stopped) throw new Error("left");
        if (job.progress.percent !== null && job.progress.percent !== undefined) bar.value = job.progress.percent;
        progressLabel.textContent = `${job.status} ${job.progress.done}/${job.progress.total || "?"} frames`;
      });
      if (done.status === "succeeded") replaceChildren(result, autoResult(done));
      else message.show(`The job ${done.status}: ${done.message || "no reason given"}`);
    } catch (error) {
      if (!stopped) message.show(errorText(error));
    } finally {
      launch.disabled = false;
    }
  } } },
    field("Video", video),
    h("fieldset", { class: "grid-fields" }, h("legend", null, "Generator thresholds (SAM's defaults)"),
      ...FIELDS.map(([, label], i) => field(label, inputs[i]))),
    launch);

  videos.list({ status: "ready", page_size: 500 }).then((page) => {
    replaceChildren(video, ...page.results.map((v: Video) => h("option", { value: String(v.id) }, `${v.name} (${v.frame_count ?? "?"} frames)`)));
    if (!page.results.length) message.show("No ready video yet: upload one in Videos.", "info");
  }).catch((error) => message.show(errorText(error)));

  const element = h("section", { class: "card", "aria-labelledby": "auto-title" },
    h("h2", { id: "auto-title" }, "Automatic masklets"),
    h("p", { class: "muted" }, "SAM's automatic masks on the first frame, propagated through the video; they go to the verification queue."),
    form, message.element, progress, result);
  return { title: "Automatic masklets", element, unmount: () => void (stopped = true) };
}
