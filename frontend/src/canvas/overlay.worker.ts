/// <reference lib="webworker" />
/** Decodes RLE masks and paints the overlay off the main thread; the pixels come back transferred. */
import { paintOverlay, type OverlayLayer } from "./overlay";

export interface OverlayRequest {
  id: number;
  h: number;
  w: number;
  layers: OverlayLayer[];
}
export type OverlayResponse = { id: number; buffer: ArrayBuffer } | { id: number; error: string };

let scratch = new Uint8Array(0);

self.onmessage = (event: MessageEvent<OverlayRequest>) => {
  const { id, h, w, layers } = event.data;
  try {
    if (scratch.length !== h * w) scratch = new Uint8Array(h * w);
    const pixels = new Uint8ClampedArray(w * h * 4);
    paintOverlay(pixels, h, w, layers, scratch);
    (self as unknown as DedicatedWorkerGlobalScope).postMessage({ id, buffer: pixels.buffer } satisfies OverlayResponse, [pixels.buffer]);
  } catch (error) {
    (self as unknown as DedicatedWorkerGlobalScope).postMessage({ id, error: String(error) } satisfies OverlayResponse);
  }
};
