/**
 * Tool modes: one handler per mode, and a small state machine that refuses illegal transitions
 * (a tool the task's phase does not allow, or a tool change in the middle of a gesture).
 */
import type { CanvasEvents } from "./events";
import { clampToImage, panBy, type Viewport } from "./viewport";

export type Phase = 1 | 2 | 3;
export type ToolMode = "click-positive" | "click-negative" | "box" | "brush" | "eraser" | "pan";

/** Phase 1: SAM per frame (clicks, box) + brush/eraser. Phase 2: clicks + brush/eraser mask prompts. Phase 3: SAM 2. */
export const PHASE_TOOLS: Record<Phase, readonly ToolMode[]> = {
  1: ["click-positive", "click-negative", "box", "brush", "eraser", "pan"],
  2: ["click-positive", "click-negative", "brush", "eraser", "pan"],
  3: ["click-positive", "click-negative", "box", "pan"],
};

export const TOOL_LABELS: Record<ToolMode, string> = {
  "click-positive": "Positive click",
  "click-negative": "Negative click",
  box: "Box",
  brush: "Brush",
  eraser: "Eraser",
  pan: "Pan",
};

export class IllegalTransitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IllegalTransitionError";
  }
}

/** A pointer position: screen (CSS px in the view) and image (pixel units, fractional). */
export interface PointerInput {
  sx: number;
  sy: number;
  ix: number;
  iy: number;
  /** A right-click or Shift-click: a click tool places a negative click (no tool switch). */
  negative?: boolean;
}

/** What a handler may do to the canvas; the FrameCanvas implements it. */
export interface ToolContext {
  readonly imageWidth: number;
  readonly imageHeight: number;
  readonly frameIndex: number;
  readonly objectNumber: number | null;
  viewport: Viewport;
  emit<K extends keyof CanvasEvents>(name: K, payload: CanvasEvents[K]): void;
  /** The rubber band of a box being drawn, in image coordinates; null hides it. */
  showBox(box: [number, number, number, number] | null): void;
  /** Paint a stroke segment on the selected object's working mask (value 1 brush, 0 eraser). */
  stroke(from: [number, number], to: [number, number], value: 0 | 1): void;
  /** The stroke is over: the working mask becomes a mask prompt. */
  commitStroke(tool: "brush" | "eraser"): void;
  readonly brushRadius: number;
}

export interface ToolHandler {
  readonly mode: ToolMode;
  down(p: PointerInput, ctx: ToolContext): void;
  move(p: PointerInput, ctx: ToolContext): void;
  up(p: PointerInput, ctx: ToolContext): void;
  cancel(ctx: ToolContext): void;
}

/** A press that moved further than this (screen px) is a drag, not a click. */
export const CLICK_SLOP = 4;

class ClickHandler implements ToolHandler {
  private start: PointerInput | null = null;
  constructor(readonly mode: "click-positive" | "click-negative") {}

  down(p: PointerInput): void {
    this.start = p;
  }
  move(): void {}
  up(p: PointerInput, ctx: ToolContext): void {
    const start = this.start;
    this.start = null;
    if (!start || ctx.objectNumber === null) return;
    if (Math.hypot(p.sx - start.sx, p.sy - start.sy) > CLICK_SLOP) return;
    if (p.ix < 0 || p.iy < 0 || p.ix >= ctx.imageWidth || p.iy >= ctx.imageHeight) return;
    ctx.emit("click", {
      frameIndex: ctx.frameIndex,
      objectNumber: ctx.objectNumber,
      point: [Math.round(p.ix * 10) / 10, Math.round(p.iy * 10) / 10],
      label: this.mode === "click-positive" && !start.negative ? 1 : 0,
    });
  }
  cancel(): void {
    this.start = null;
  }
}

class BoxHandler implements ToolHandler {
  readonly mode = "box";
  private start: [number, number] | null = null;

  private box(p: PointerInput, ctx: ToolContext): [number, number, number, number] {
    const [x0, y0] = this.start!;
    const [x1, y1] = clampToImage(p.ix, p.iy, ctx.imageWidth, ctx.imageHeight);
    return [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
  }
  down(p: PointerInput, ctx: ToolContext): void {
    this.start = clampToImage(p.ix, p.iy, ctx.imageWidth, ctx.imageHeight);
  }
  move(p: PointerInput, ctx: ToolContext): void {
    if (this.start) ctx.showBox(this.box(p, ctx));
  }
  up(p: PointerInput, ctx: ToolContext): void {
    if (!this.start) return;
    const box = this.box(p, ctx).map((v) => Math.round(v)) as [number, number, number, number];
    this.start = null;
    if (ctx.objectNumber === null || box[2] - box[0] < 2 || box[3] - box[1] < 2) {
      ctx.showBox(null);
      return;
    }
    ctx.showBox(box); // stays drawn (until another frame or box) while SAM answers and after
    ctx.emit("box", { frameIndex: ctx.frameIndex, objectNumber: ctx.objectNumber, box });
  }
  cancel(ctx: ToolContext): void {
    this.start = null;
    ctx.showBox(null);
  }
}

class PaintHandler implements ToolHandler {
  private last: [number, number] | null = null;
  constructor(readonly mode: "brush" | "eraser") {}

  private get value(): 0 | 1 {
    return this.mode === "brush" ? 1 : 0;
  }
  down(p: PointerInput, ctx: ToolContext): void {
    if (ctx.objectNumber === null) return;
    this.last = [p.ix, p.iy];
    ctx.stroke(this.last, this.last, this.value);
  }
  move(p: PointerInput, ctx: ToolContext): void {
    if (!this.last) return;
    const next: [number, number] = [p.ix, p.iy];
    ctx.stroke(this.last, next, this.value);
    this.last = next;
  }
  up(_p: PointerInput, ctx: ToolContext): void {
    if (!this.last) return;
    this.last = null;
    ctx.commitStroke(this.mode);
  }
  cancel(): void {
    this.last = null;
  }
}

class PanHandler implements ToolHandler {
  readonly mode = "pan";
  private last: [number, number] | null = null;

  down(p: PointerInput): void {
    this.last = [p.sx, p.sy];
  }
  move(p: PointerInput, ctx: ToolContext): void {
    if (!this.last) return;
    ctx.viewport = panBy(ctx.viewport, p.sx - this.last[0], p.sy - this.last[1]);
    this.last = [p.sx, p.sy];
  }
  up(): void {
    this.last = null;
  }
  cancel(): void {
    this.last = null;
  }
}

export function createHandler(mode: ToolMode): ToolHandler {
  switch (mode) {
    case "click-positive":
    case "click-negative":
      return new ClickHandler(mode);
    case "box":
      return new BoxHandler();
    case "brush":
    case "eraser":
      return new PaintHandler(mode);
    case "pan":
      return new PanHandler();
  }
}

/**
 * The tool state: which mode, and whether a gesture (press → release) is under way.
 * idle --down--> gesture --up/cancel--> idle; the mode changes only while idle, and only to a
 * tool of the phase.
 */
export class ToolMachine {
  private handlers = new Map<ToolMode, ToolHandler>();
  private current: ToolHandler;
  private gesture = false;
  readonly tools: readonly ToolMode[];

  constructor(readonly phase: Phase, initial: ToolMode = PHASE_TOOLS[phase][0]) {
    this.tools = PHASE_TOOLS[phase];
    for (const mode of this.tools) this.handlers.set(mode, createHandler(mode));
    this.current = this.handlerFor(initial);
  }

  get mode(): ToolMode {
    return this.current.mode;
  }
  get inGesture(): boolean {
    return this.gesture;
  }
  allows(mode: ToolMode): boolean {
    return this.handlers.has(mode);
  }

  private handlerFor(mode: ToolMode): ToolHandler {
    const handler = this.handlers.get(mode);
    if (!handler) {
      throw new IllegalTransitionError(`The ${TOOL_LABELS[mode] ?? mode} tool is not part of phase ${this.phase}.`);
    }
    return handler;
  }

  setMode(mode: ToolMode): void {
    const next = this.handlerFor(mode);
    if (this.gesture && next !== this.current) {
      throw new IllegalTransitionError(`Cannot switch to ${TOOL_LABELS[mode]} in the middle of a ${TOOL_LABELS[this.mode]} gesture.`);
    }
    this.current = next;
  }

  down(p: PointerInput, ctx: ToolContext): void {
    if (this.gesture) throw new IllegalTransitionError("A gesture is already under way.");
    this.gesture = true;
    this.current.down(p, ctx);
  }
  move(p: PointerInput, ctx: ToolContext): void {
    if (this.gesture) this.current.move(p, ctx);
  }
  up(p: PointerInput, ctx: ToolContext): void {
    if (!this.gesture) return; // a release whose press began outside the canvas
    this.gesture = false;
    this.current.up(p, ctx);
  }
  cancel(ctx: ToolContext): void {
    if (!this.gesture) return;
    this.gesture = false;
    this.current.cancel(ctx);
  }
}
