/** Brush and eraser on a column-major 0/1 mask (index = x * H + y), in place: no copies. */

/** Paint a disc of `radius` px at every point along the segment from `a` to `b`. */
export function strokeSegment(
  mask: Uint8Array, h: number, w: number,
  a: [number, number], b: [number, number], radius: number, value: 0 | 1,
): void {
  const steps = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / Math.max(1, radius / 2)));
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    paintDisc(mask, h, w, a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, radius, value);
  }
}

export function paintDisc(mask: Uint8Array, h: number, w: number, cx: number, cy: number, radius: number, value: 0 | 1): void {
  const r2 = radius * radius;
  const x0 = Math.max(0, Math.floor(cx - radius)), x1 = Math.min(w - 1, Math.ceil(cx + radius));
  const y0 = Math.max(0, Math.floor(cy - radius)), y1 = Math.min(h - 1, Math.ceil(cy + radius));
  for (let x = x0; x <= x1; x++) {
    const dx = x + 0.5 - cx;
    const col = x * h;
    for (let y = y0; y <= y1; y++) {
      const dy = y + 0.5 - cy;
      if (dx * dx + dy * dy <= r2) mask[col + y] = value;
    }
  }
}
