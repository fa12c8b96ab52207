/**
 * The task's masks: per object, per frame, as RLE (compact strings; pixels are decoded only by the
 * overlay worker). Loaded from the server in windows around the cursor; presence per frame for
 * the timeline comes from the counts alone.
 */
import type { Rle } from "../../api/rle-types";
import { isEmpty } from "../../canvas/rle";

export const WINDOW = 64;

export class MaskStore {
  private masks = new Map<number, Map<number, Rle>>();
  readonly presence = new Map<number, Uint8Array>();
  readonly edited = new Map<number, Set<number>>();
  /** Frames where the last propagation left the object empty, until a non-empty mask arrives there. */
  readonly vanished = new Map<number, Set<number>>();
  private loaded = new Set<number>(); // starts of the windows loaded (all objects at once)

  constructor(readonly frameCount: number) {}

  addObject(objectNumber: number): void {
    if (this.masks.has(objectNumber)) return;
    this.masks.set(objectNumber, new Map());
    this.presence.set(objectNumber, new Uint8Array(this.frameCount).fill(255));
    this.edited.set(objectNumber, new Set());
    this.vanished.set(objectNumber, new Set());
  }

  removeObject(objectNumber: number): void {
    for (const map of [this.masks, this.presence, this.edited, this.vanished]) map.delete(objectNumber);
  }

  set(objectNumber: number, frame: number, rle: Rle, edited = false): void {
    this.addObject(objectNumber);
    this.masks.get(objectNumber)!.set(frame, rle);
    this.presence.get(objectNumber)![frame] = isEmpty(rle) ? 0 : 1;
    if (!isEmpty(rle)) this.vanished.get(objectNumber)!.delete(frame);
    if (edited) this.edited.get(objectNumber)!.add(frame);
  }

  /** After a propagation: the frames where it left each object it names empty (its marks replace theirs). */
  setVanished(emptyFrames: Map<number, number[]>): void {
    for (const [objectNumber, frames] of emptyFrames) {
      const marks = this.vanished.get(objectNumber);
      if (!marks) continue; // an object removed since
      marks.clear();
      for (const f of frames.filter((f) => f >= 0 && f < this.frameCount)) {
        marks.add(f);
        this.presence.get(objectNumber)![f] = 0;
      }
    }
  }

  /** The masks of every object on a frame (object number → RLE), without copying the RLE. */
  frame(frame: number): Map<number, Rle> {
    const out = new Map<number, Rle>();
    for (const [objectNumber, frames] of this.masks) {
      const rle = frames.get(frame);
      if (rle) out.set(objectNumber, rle);
    }
    return out;
  }

  /** Windows [start, end) not loaded yet around `cursor`: the current one, then the next, then the previous. */
  missingWindows(cursor: number): [number, number][] {
    const start = Math.floor(cursor / WINDOW) * WINDOW;
    const out: [number, number][] = [];
    for (const s of [start, start + WINDOW, start - WINDOW]) {
      if (s >= 0 && s < this.frameCount && !this.loaded.has(s)) out.push([s, Math.min(this.frameCount, s + WINDOW)]);
    }
    return out;
  }

  markLoaded(start: number): void {
    this.loaded.add(start);
  }

  /** Forget loaded windows (after propagation or undo, the server's masks changed). */
  invalidate(): void {
    this.loaded.clear();
  }

  objects(): number[] {
    return [...this.masks.keys()];
  }
}
