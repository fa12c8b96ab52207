/**
 * Zoom and pan as one affine map: screen = image * scale + offset (CSS pixels of the view).
 * Pure functions on an immutable value, so the math is tested without a DOM.
 */
export interface Viewport {
  scale: number;
  offsetX: number;
  offsetY: number;
}

export const MIN_SCALE = 0.05;
export const MAX_SCALE = 32;

export function clampScale(scale: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
}

/** The whole image centred in the view, as large as fits. */
export function fit(imageW: number, imageH: number, viewW: number, viewH: number): Viewport {
  const scale = clampScale(Math.min(viewW / imageW, viewH / imageH));
  return { scale, offsetX: (viewW - imageW * scale) / 2, offsetY: (viewH - imageH * scale) / 2 };
}

export function toImage(v: Viewport, sx: number, sy: number): [number, number] {
  return [(sx - v.offsetX) / v.scale, (sy - v.offsetY) / v.scale];
}

export function toScreen(v: Viewport, ix: number, iy: number): [number, number] {
  return [ix * v.scale + v.offsetX, iy * v.scale + v.offsetY];
}

/** Zoom by `factor` keeping the image point under the screen point (sx, sy) where it is. */
export function zoomAt(v: Viewport, sx: number, sy: number, factor: number): Viewport {
  const scale = clampScale(v.scale * factor);
  const k = scale / v.scale;
  return { scale, offsetX: sx - (sx - v.offsetX) * k, offsetY: sy - (sy - v.offsetY) * k };
}

export function panBy(v: Viewport, dx: number, dy: number): Viewport {
  return { ...v, offsetX: v.offsetX + dx, offsetY: v.offsetY + dy };
}

/** An image point as integer pixel coordinates inside the image, or null outside it. */
export function pixelAt(v: Viewport, sx: number, sy: number, imageW: number, imageH: number): [number, number] | null {
  const [x, y] = toImage(v, sx, sy);
  if (x < 0 || y < 0 || x >= imageW || y >= imageH) return null;
  return [Math.floor(x), Math.floor(y)];
}

/** Clamp an image point into the image (box corners dragged outside it). */
export function clampToImage(x: number, y: number, imageW: number, imageH: number): [number, number] {
  return [Math.min(imageW, Math.max(0, x)), Math.min(imageH, Math.max(0, y))];
}
