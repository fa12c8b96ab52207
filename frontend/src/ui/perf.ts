/**
 * Perceived speed: the time from a click on the frame to its mask's overlay drawn on the canvas,
 * measured with `performance.mark` / `performance.measure` ("masklet:click-to-overlay" entries in
 * the browser's performance timeline) and kept on `window.__maskletPerf`, a bounded list (the
 * newest `PERF_LIMIT` samples) that tests and `bench/browser_bench.py` read.
 */
export interface ClickSample {
  /** From the click event to the overlay drawn (the canvas painted with the answer's mask). */
  click_to_overlay_ms: number;
  /** From the click event to the prompt's answer parsed (the HTTP request's share). */
  click_to_answer_ms: number;
  /** The model's time on the worker, and the API's round trip to the worker, as the answer says. */
  latency_ms: number;
  round_trip_ms: number;
  frame_index: number;
}

export const PERF_LIMIT = 500;
export const MEASURE = "masklet:click-to-overlay";

declare global {
  interface Window {
    __maskletPerf?: ClickSample[];
  }
}

/** Keeps the newest `limit` samples. */
export function pushBounded<T>(list: T[], item: T, limit = PERF_LIMIT): T[] {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
  return list;
}

let counter = 0;

export interface ClickTimer {
  /** Call when the prompt's answer has arrived. */
  answered(): void;
  /** Call once the overlay is drawn: records the sample. */
  drawn(answer: Omit<ClickSample, "click_to_overlay_ms" | "click_to_answer_ms">): void;
}

/** Call in the click's event handler. */
export function startClick(): ClickTimer {
  const mark = `masklet:click:${++counter}`;
  performance.mark(mark);
  let answeredAt = NaN;
  return { answered: () => (answeredAt = performance.now()), drawn: (answer) => {
    const measure = performance.measure(MEASURE, mark);
    performance.clearMarks(mark);
    const samples = (window.__maskletPerf ??= []);
    pushBounded(samples, { click_to_overlay_ms: measure.duration, click_to_answer_ms: answeredAt - measure.startTime, ...answer });
    const entries = performance.getEntriesByName(MEASURE);
    if (entries.length > PERF_LIMIT) performance.clearMeasures(MEASURE); // the timeline stays bounded too
  } };
}
