/**
 * The cursor over a video's frames and its playback clock, shared by the workspace and the review
 * screen. Playing waits for each frame to be shown before the next tick: slow storage slows the
 * playback down instead of skipping frames.
 */
export class Playback {
  private frame = 0;
  private playing = false;
  private timer = 0;
  fps: number;

  constructor(readonly count: number, fps: number, private show: (frame: number) => Promise<void>, private onChange: () => void) {
    this.fps = fps;
  }

  get cursor(): number {
    return this.frame;
  }
  get isPlaying(): boolean {
    return this.playing;
  }

  async seek(frame: number): Promise<void> {
    this.frame = Math.min(this.count - 1, Math.max(0, Math.round(frame)));
    this.onChange();
    await this.show(this.frame);
  }

  step(delta: number): Promise<void> {
    return this.seek(this.frame + delta);
  }

  toggle(): void {
    if (this.playing) this.pause();
    else this.play();
  }

  play(): void {
    if (this.playing) return;
    if (this.frame >= this.count - 1) this.frame = 0;
    this.playing = true;
    this.onChange();
    this.tick();
  }

  pause(): void {
    this.playing = false;
    clearTimeout(this.timer);
    this.onChange();
  }

  private tick(): void {
    const started = performance.now();
    void this.show(this.frame).finally(() => {
      if (!this.playing) return;
      if (this.frame >= this.count - 1) return this.pause();
      const wait = Math.max(0, 1000 / this.fps - (performance.now() - started));
      this.timer = window.setTimeout(() => {
        if (!this.playing) return;
        this.frame++;
        this.onChange();
        this.tick();
      }, wait);
    });
  }

  destroy(): void {
    this.pause();
  }
}
