/**
 * Paint coloured masks with outlines into an RGBA overlay (row-major, transparent elsewhere),
 * drawn over the frame. Pure, so it runs in the overlay worker and in tests alike.
 */
import { decode } from "./rle";
import type { Rle } from "../api/rle-types";

export type Rgb = [number, number, number];

export interface OverlayLayer {
  rle: Rle;
  color: Rgb;
  /** The selected object gets a white outline and a stronger fill. */
  selected?: boolean;
}

export const FILL_ALPHA = 110; // of 255
export const SELECTED_FILL_ALPHA = 150;

/** Paints `layers` in order into `out` (w*h*4 bytes, cleared first); `scratch` is reused (h*w). */
export function paintOverlay(out: Uint8ClampedArray, h: number, w: number, layers: OverlayLayer[], scratch?: Uint8Array): void {
  if (out.length !== w * h * 4) throw new Error("Overlay buffer does not match the frame size.");
  out.fill(0);
  const mask = scratch && scratch.length === h * w ? scratch : new Uint8Array(h * w);
  for (const layer of layers) {
    if (layer.rle.size[0] !== h || layer.rle.size[1] !== w) {
      throw new Error(`A ${layer.rle.size[1]}×${layer.rle.size[0]} mask on a ${w}×${h} frame.`);
    }
    decode(layer.rle, mask);
    const [r, g, b] = layer.color;
    const fill = layer.selected ? SELECTED_FILL_ALPHA : FILL_ALPHA;
    const edge: Rgb = layer.selected ? [255, 255, 255] : layer.color;
    for (let x = 0; x < w; x++) {
      const col = x * h;
      for (let y = 0; y < h; y++) {
        const i = col + y;
        if (!mask[i]) continue;
        const boundary = y === 0 || y === h - 1 || x === 0 || x === w - 1 ||
          !mask[i - 1] || !mask[i + 1] || !mask[i - h] || !mask[i + h];
        const o = (y * w + x) * 4;
        if (boundary) {
          out[o] = edge[0];
          out[o + 1] = edge[1];
          out[o + 2] = edge[2];
          out[o + 3] = 255;
        } else {
          out[o] = r;
          out[o + 1] = g;
          out[o + 2] = b;
          out[o + 3] = fill;
        }
      }
    }
  }
}

/** Distinct colours for object numbers (SAM 2 demo-like palette). */
export const PALETTE: Rgb[] = [
  [30, 136, 229], [255, 112, 67], [102, 187, 106], [171, 71, 188], [255, 202, 40],
  [38, 198, 218], [236, 64, 122], [141, 110, 99], [92, 107, 192], [212, 225, 87],
];

export function colorFor(objectNumber: number, given?: string): Rgb {
  if (given && /^#[0-9a-f]{6}$/i.test(given)) {
    const n = parseInt(given.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  return PALETTE[((objectNumber % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

export function cssColor([r, g, b]: Rgb): string {
  return `rgb(${r}, ${g}, ${b})`;
}
