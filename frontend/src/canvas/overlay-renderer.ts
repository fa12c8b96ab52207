/**
 * The main thread's side of the overlay worker. Only the latest request's answer is delivered
 * (scrubbing through frames never queues stale overlays); without Worker support it paints inline.
 */
import { paintOverlay, type OverlayLayer } from "./overlay";
import type { OverlayRequest, OverlayResponse } from "./overlay.worker";

export class OverlayRenderer {
  private worker: Worker | null = null;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: ImageData | null) => void; reject: (e: Error) => void; w: number; h: number }>();

  constructor() {
    if (typeof Worker !== "undefined") {
      this.worker = new Worker(new URL("./overlay.worker.ts", import.meta.url), { type: "module" });
      this.worker.onmessage = (event: MessageEvent<OverlayResponse>) => this.receive(event.data);
    }
  }

  /** The overlay as ImageData, or null when a newer request superseded this one. */
  render(h: number, w: number, layers: OverlayLayer[]): Promise<ImageData | null> {
    const id = this.nextId++;
    for (const [staleId, stale] of this.pending) {
      stale.resolve(null);
      this.pending.delete(staleId);
    }
    if (!this.worker) {
      const pixels = new Uint8ClampedArray(w * h * 4);
      paintOverlay(pixels, h, w, layers);
      return Promise.resolve(new ImageData(pixels, w, h));
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, w, h });
      this.worker!.postMessage({ id, h, w, layers } satisfies OverlayRequest);
    });
  }

  private receive(message: OverlayResponse): void {
    const waiting = this.pending.get(message.id);
    if (!waiting) return; // superseded
    this.pending.delete(message.id);
    if ("error" in message) waiting.reject(new Error(message.error));
    else waiting.resolve(new ImageData(new Uint8ClampedArray(message.buffer), waiting.w, waiting.h));
  }

  dispose(): void {
    this.worker?.terminate();
    this.worker = null;
    for (const waiting of this.pending.values()) waiting.resolve(null);
    this.pending.clear();
  }
}
