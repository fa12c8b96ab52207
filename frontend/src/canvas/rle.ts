/**
 * COCO run-length encoding, as pycocotools writes it (maskApi.c: rleToString / rleFrString).
 *
 * A mask of size [H, W] is read column-major (x outer, y inner: index = x * H + y). Counts
 * alternate runs of 0s and 1s, starting with 0s. The compressed string stores each count (from
 * the third on, as a difference with the count two places before) in 5-bit groups, 6 bits per
 * character offset by 48, the 0x20 bit meaning "more groups follow", 0x10 of the last group the sign.
 * Plain Number arithmetic (not 32-bit bit operations) keeps large images exact.
 */
import type { Rle } from "../api/rle-types";

export type { Rle };

export function countsFromString(counts: string): number[] {
  const out: number[] = [];
  let p = 0;
  while (p < counts.length) {
    let x = 0;
    let k = 0;
    let scale = 1;
    let more = true;
    while (more) {
      if (p >= counts.length) throw new Error("RLE counts string ends inside a number.");
      const c = counts.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`RLE counts string has an invalid character at ${p}.`);
      x += (c & 0x1f) * scale;
      scale *= 32;
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10) !== 0) x -= scale; // sign-extend: x |= -1 << 5k
    }
    if (out.length > 2) x += out[out.length - 2];
    out.push(x);
  }
  return out;
}

export function countsToString(counts: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = ((x % 32) + 32) % 32; // x & 0x1f, for negatives too
      x = Math.floor(x / 32); // arithmetic x >>= 5
      more = (c & 0x10) !== 0 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** Decode into `out` (or a new array): 1 inside the mask, 0 outside, column-major. */
export function decode(rle: Rle, out?: Uint8Array): Uint8Array {
  const [h, w] = rle.size;
  const n = h * w;
  const mask = out ?? new Uint8Array(n);
  if (mask.length !== n) throw new Error(`Mask buffer has ${mask.length} pixels, the RLE ${n}.`);
  const counts = countsFromString(rle.counts);
  let pos = 0;
  let value = 0;
  for (const run of counts) {
    if (pos + run > n) throw new Error("RLE counts cover more pixels than its size.");
    if (value) mask.fill(1, pos, pos + run);
    else if (out) mask.fill(0, pos, pos + run);
    pos += run;
    value ^= 1;
  }
  if (pos !== n) throw new Error(`RLE counts cover ${pos} pixels, its size ${n}.`);
  return mask;
}

/** Encode a column-major 0/1 mask of size [h, w]. Any non-zero value counts as inside. */
export function encode(mask: ArrayLike<number>, h: number, w: number): Rle {
  const n = h * w;
  if (mask.length !== n) throw new Error(`Mask has ${mask.length} pixels, expected ${h}×${w}.`);
  const counts: number[] = [];
  let value = 0;
  let run = 0;
  for (let i = 0; i < n; i++) {
    const bit = mask[i] ? 1 : 0;
    if (bit !== value) {
      counts.push(run);
      run = 0;
      value = bit;
    }
    run++;
  }
  counts.push(run);
  return { size: [h, w], counts: countsToString(counts) };
}

export function area(rle: Rle): number {
  const counts = countsFromString(rle.counts);
  let sum = 0;
  for (let i = 1; i < counts.length; i += 2) sum += counts[i];
  return sum;
}

/** Whether the object is absent: no run of 1s with a length (without decoding pixels). */
export function isEmpty(rle: Rle): boolean {
  return area(rle) === 0;
}

export function empty(h: number, w: number): Rle {
  return { size: [h, w], counts: countsToString([h * w]) };
}

/** Bounding box [x0, y0, x1, y1] (inclusive pixel indices) of a column-major mask, or null. */
export function bbox(mask: Uint8Array, h: number, w: number): [number, number, number, number] | null {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let x = 0; x < w; x++) {
    const col = x * h;
    for (let y = 0; y < h; y++) {
      if (mask[col + y]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1, y1];
}
