/**
 * Frame images: loaded on demand, prefetched around the cursor (more ahead than behind, as
 * playback goes forward), kept in a bounded LRU cache, a few requests in flight at most.
 */
import { LruCache } from "./lru";

export function prefetchOrder(cursor: number, count: number, behind: number, ahead: number): number[] {
  const order: number[] = [];
  for (let d = 0; d <= Math.max(behind, ahead); d++) {
    if (d <= ahead && cursor + d < count) order.push(cursor + d);
    if (d > 0 && d <= behind && cursor - d >= 0) order.push(cursor - d);
  }
  return order;
}

export class FrameStore {
  private cache: LruCache<number, HTMLImageElement>;
  private loading = new Map<number, Promise<HTMLImageElement>>();
  private queue: number[] = [];
  private active = 0;

  constructor(private urls: string[], capacity = 96, private maxInFlight = 4, private behind = 8, private ahead = 24) {
    this.cache = new LruCache(capacity);
  }

  get count(): number {
    return this.urls.length;
  }

  cached(index: number): HTMLImageElement | undefined {
    return this.cache.get(index);
  }

  load(index: number): Promise<HTMLImageElement> {
    const hit = this.cache.get(index);
    if (hit) return Promise.resolve(hit);
    const pending = this.loading.get(index);
    if (pending) return pending;
    const promise = new Promise<HTMLImageElement>((resolve, reject) => {
      const image = new Image();
      image.decoding = "async";
      image.onload = () => resolve(image);
      image.onerror = () => reject(new Error(`Frame ${index} could not be loaded.`));
      image.src = this.urls[index];
    }).then(
      (image) => {
        this.cache.set(index, image);
        this.loading.delete(index);
        return image;
      },
      (error) => {
        this.loading.delete(index);
        throw error;
      },
    );
    this.loading.set(index, promise);
    return promise;
  }

  /** Replace the prefetch queue with the frames around `cursor` that are not cached yet. */
  prefetch(cursor: number): void {
    const capacityLeft = Math.min(this.behind + this.ahead + 1, this.cache.capacity - 1);
    this.queue = prefetchOrder(cursor, this.urls.length, this.behind, this.ahead)
      .slice(0, capacityLeft)
      .filter((i) => !this.cache.has(i) && !this.loading.has(i));
    this.pump();
  }

  private pump(): void {
    while (this.active < this.maxInFlight && this.queue.length) {
      const index = this.queue.shift()!;
      this.active++;
      this.load(index)
        .catch(() => undefined)
        .finally(() => {
          this.active--;
          this.pump();
        });
    }
  }
}
