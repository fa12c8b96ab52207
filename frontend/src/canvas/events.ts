/** What the canvas tells its owner. The canvas never calls the server: its owner does. */
import type { Rle } from "../api/rle-types";
import type { Viewport } from "./viewport";
import type { ToolMode } from "./tools";

export interface CanvasEvents {
  /** A positive (label 1) or negative (label 0) click, in image pixel coordinates. */
  click: { frameIndex: number; objectNumber: number; point: [number, number]; label: 0 | 1 };
  /** A box [x0, y0, x1, y1] in image coordinates, x0 <= x1, y0 <= y1. */
  box: { frameIndex: number; objectNumber: number; box: [number, number, number, number] };
  /** The object's whole mask on this frame after a brush or eraser stroke (a mask prompt). */
  mask: { frameIndex: number; objectNumber: number; mask: Rle; tool: "brush" | "eraser" };
  viewport: Viewport;
  tool: { mode: ToolMode };
}

export type CanvasEventName = keyof CanvasEvents;
export type Listener<K extends CanvasEventName> = (payload: CanvasEvents[K]) => void;

export class Emitter {
  private listeners = new Map<CanvasEventName, Set<(payload: never) => void>>();

  on<K extends CanvasEventName>(name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  emit<K extends CanvasEventName>(name: K, payload: CanvasEvents[K]): void {
    for (const listener of this.listeners.get(name) ?? []) (listener as Listener<K>)(payload);
  }
}
