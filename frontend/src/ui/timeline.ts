/**
 * The timeline: a frame ruler, one presence strip per object (where its mask is non-empty),
 * marks on hand-edited frames and on frames where a propagation lost the object, and the cursor. Virtualised: one canvas the width of the view
 * draws only the visible frames, so a 1,000-frame video costs what a 100-frame one does.
 */
import { cssColor, type Rgb } from "../canvas/overlay";
import { h } from "./dom";

export interface TimelineTrack {
  objectNumber: number;
  color: Rgb;
  /** Per frame: 1 present, 0 absent, 255 not known yet (masks not loaded). */
  presence: Uint8Array;
  edited: Set<number>;
  /** Frames where the last propagation left the object empty (it vanished there). */
  vanished?: Set<number>;
}

export const RULER = 16;
export const ROW = 12;

/** [first, last) frames that intersect the view, with `overscan` frames either side. */
export function visibleRange(scrollLeft: number, viewWidth: number, cell: number, count: number, overscan = 2): [number, number] {
  const first = Math.max(0, Math.floor(scrollLeft / cell) - overscan);
  const last = Math.min(count, Math.ceil((scrollLeft + viewWidth) / cell) + overscan);
  return [first, Math.max(first, last)];
}

/** A tick every 1, 5, 10, 50, 100… frames so that labels stay ≥ 48 px apart. */
export function tickStep(cell: number): number {
  for (const step of [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]) if (step * cell >= 48) return step;
  return 10000;
}

export class Timeline {
  readonly element: HTMLElement;
  private scroller: HTMLElement;
  private spacer: HTMLElement;
  private canvas: HTMLCanvasElement;
  private tracks: TimelineTrack[] = [];
  private notes = new Set<number>();
  private cursor = 0;
  private cell = 6;
  private pending = 0;
  private dragging = false;
  private observer: ResizeObserver;

  constructor(private count: number, private onSeek: (frame: number) => void) {
    this.canvas = h("canvas", { class: "timeline-canvas" });
    this.spacer = h("div", { class: "timeline-spacer" });
    this.scroller = h("div", { class: "timeline-scroller" }, this.canvas, this.spacer);
    this.element = h("div", {
      class: "timeline",
      role: "slider",
      tabindex: 0,
      "aria-label": "Timeline: frame",
      "aria-valuemin": 0,
      "aria-valuemax": Math.max(0, count - 1),
      "aria-valuenow": 0,
    }, this.scroller);
    this.scroller.addEventListener("scroll", () => this.schedule());
    this.canvas.addEventListener("pointerdown", (e) => {
      this.dragging = true;
      this.canvas.setPointerCapture?.(e.pointerId);
      this.seekAt(e);
    });
    this.canvas.addEventListener("pointermove", (e) => this.dragging && this.seekAt(e));
    this.canvas.addEventListener("pointerup", () => (this.dragging = false));
    this.observer = new ResizeObserver(() => this.layout());
    this.observer.observe(this.element);
  }

  setTracks(tracks: TimelineTrack[]): void {
    this.tracks = tracks;
    this.layout();
  }

  /** Frames a reviewer's notes name: marked on the ruler (listed in `data-notes` for tests and tools). */
  setNotes(frames: Iterable<number>): void {
    this.notes = new Set(frames);
    this.element.dataset.notes = [...this.notes].sort((a, b) => a - b).join(",");
    this.schedule();
  }

  /** Redraw after presence or edit marks changed (cheap: only visible frames are drawn). */
  invalidate(): void {
    this.schedule();
  }

  setCursor(frame: number): void {
    this.cursor = frame;
    this.element.setAttribute("aria-valuenow", String(frame));
    this.element.setAttribute("aria-valuetext", `Frame ${frame + 1} of ${this.count}`);
    const x = frame * this.cell;
    const view = this.scroller.clientWidth;
    if (x < this.scroller.scrollLeft || x + this.cell > this.scroller.scrollLeft + view) {
      this.scroller.scrollLeft = Math.max(0, x - view / 2);
    }
    this.schedule();
  }

  destroy(): void {
    this.observer.disconnect();
    cancelAnimationFrame(this.pending);
  }

  private seekAt(event: PointerEvent): void {
    const rect = this.canvas.getBoundingClientRect();
    const frame = Math.floor((this.scroller.scrollLeft + event.clientX - rect.left) / this.cell);
    this.onSeek(Math.min(this.count - 1, Math.max(0, frame)));
  }

  private layout(): void {
    const width = this.scroller.clientWidth || 600;
    this.cell = Math.max(4, width / Math.max(1, this.count));
    this.spacer.style.width = `${this.cell * this.count}px`;
    const height = RULER + ROW * Math.max(1, this.tracks.length) + 4;
    this.scroller.style.height = `${height + 14}px`;
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.schedule();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  private draw(): void {
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    const ratio = window.devicePixelRatio || 1;
    const width = this.canvas.width / ratio, height = this.canvas.height / ratio;
    const scroll = this.scroller.scrollLeft, cell = this.cell;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#15171a";
    ctx.fillRect(0, 0, width, height);
    const [first, last] = visibleRange(scroll, width, cell, this.count);
    const step = tickStep(cell);
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillStyle = "#9aa0a6";
    for (let f = first - (first % step); f < last; f += step) {
      const x = f * cell - scroll;
      ctx.fillRect(x, RULER - 5, 1, 5);
      ctx.fillText(String(f + 1), x + 2, 10);
    }
    this.tracks.forEach((track, row) => {
      const y = RULER + row * ROW;
      ctx.fillStyle = "#23262b";
      ctx.fillRect(0, y + 1, width, ROW - 2);
      ctx.fillStyle = cssColor(track.color);
      for (let f = first; f < last; f++) {
        if (track.presence[f] === 1) ctx.fillRect(f * cell - scroll, y + 2, Math.ceil(cell), ROW - 4);
      }
      ctx.fillStyle = "#ef5350";
      for (const f of track.vanished ?? []) {
        if (f >= first && f < last) ctx.fillRect(f * cell - scroll, y + ROW - 4, Math.ceil(cell), 3);
      }
      ctx.fillStyle = "#ffffff";
      for (const f of track.edited) {
        if (f >= first && f < last) ctx.fillRect(f * cell - scroll + cell / 2 - 1, y, 2, 3);
      }
    });
    ctx.fillStyle = "#ff9800";
    for (const f of this.notes) {
      if (f < first || f >= last) continue;
      const nx = f * cell - scroll + cell / 2;
      ctx.beginPath();
      ctx.moveTo(nx - 4, 0);
      ctx.lineTo(nx + 4, 0);
      ctx.lineTo(nx, 7);
      ctx.fill();
    }
    const x = this.cursor * cell - scroll;
    ctx.fillStyle = "rgba(255, 213, 79, 0.25)";
    ctx.fillRect(x, 0, cell, height);
    ctx.fillStyle = "#ffd54f";
    ctx.fillRect(x + cell / 2 - 1, 0, 2, height);
  }
}
