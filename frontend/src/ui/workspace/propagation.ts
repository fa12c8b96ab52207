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

/** Frame ranges as shown (1-based): [0, 1, 2, 5] → "1–3, 6". */
export function frameRanges(frames: number[]): string {
  const sorted = [...frames].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? `${sorted[i] + 1}` : `${sorted[i] + 1}–${sorted[j] + 1}`);
    i = j + 1;
  }
  return parts.join(", ");
}

/** Per propagated object, the frames where its mask came back empty (a propagation job's `empty_frames`). */
export function emptyFrames(result: unknown): Map<number, number[]> {
  const empty = (result as { empty_frames?: Record<string, number[]> } | null)?.empty_frames ?? {};
  return new Map(Object.entries(empty).map(([number, frames]) => [Number(number), frames]));
}

/** The message after a propagation: "done", or which objects it lost, on which frames. */
export function propagationSummary(result: unknown, framesTracked: number,
  nameOf: (objectNumber: number) => string = (n) => `Object ${n}`): string {
  const vanished = [...emptyFrames(result)].filter(([, frames]) => frames.length > 0);
  if (!vanished.length) return "Propagation done.";
  const lost = vanished.map(([number, frames]) =>
    frames.length >= framesTracked
      ? `${nameOf(number)} is empty on every propagated frame`
      : `${nameOf(number)} vanished on frame${frames.length > 1 ? "s" : ""} ${frameRanges(frames)}`);
  return `Propagation done. ${lost.join("; ")} (marked red on the timeline): correct a frame where it is visible and propagate again.`;
}
