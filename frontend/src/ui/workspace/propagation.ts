/** Propagation: forward, backward or both from the current frame; a progress bar and cancel. */
import type { Job } from "../../api/platform";
import type { Direction } from "../../api/session";
import { h } from "../dom";

export function propagationPanel(handlers: { start: (direction: Direction) => void; cancel: () => void }) {
  const buttons = (["backward", "both", "forward"] as Direction[]).map((direction) =>
    h("button", { type: "button", on: { click: () => handlers.start(direction) },
      title: { forward: "Propagate forward (f)", backward: "Propagate backward (d)", both: "Propagate both ways (g)" }[direction] },
      { forward: "Propagate ▶", backward: "◀ Propagate", both: "◀ Propagate ▶" }[direction]));
  const bar = h("progress", { max: 100, value: 0, "aria-label": "Propagation progress" });
  const label = h("span", { class: "progress-label" });
  const cancel = h("button", { type: "button", on: { click: handlers.cancel } }, "Cancel");
  const progress = h("div", { class: "propagation-progress", hidden: true }, bar, label, cancel);
  const element = h("div", { class: "propagation", role: "group", "aria-label": "Propagation" }, ...buttons, progress);
  return {
    element,
    setEnabled(enabled: boolean) {
      for (const b of buttons) b.disabled = !enabled;
    },
    showJob(job: Job | null) {
      progress.hidden = !job;
      if (!job) return;
      const { done, total, percent } = job.progress;
      bar.value = percent ?? 0;
      if (percent === null || percent === undefined) bar.removeAttribute("value");
      label.textContent = `${job.status}: ${done}/${total || "?"} frames`;
      cancel.disabled = job.cancel_requested;
    },
  };
}
