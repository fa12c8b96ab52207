/**
 * The frame view: one frame, its objects' masks as a coloured overlay, zoom and pan, and the
 * task's tools. It never calls the server: data comes in through `setup()` and `showFrame()`,
 * user actions go out as typed events (`on("click" | "box" | "mask" | ...)`).
 */
import type { Rle } from "../api/rle-types";
import { strokeSegment } from "./brush";
import { Emitter, type CanvasEventName, type Listener } from "./events";
import { drawMarkers, markerShapes, type PointPrompt } from "./markers";
import { cssColor, type Rgb } from "./overlay";
import { OverlayRenderer } from "./overlay-renderer";
import { decode, empty, encode } from "./rle";
import { createHandler, ToolMachine, type Phase, type PointerInput, type ToolContext, type ToolMode } from "./tools";
import { fit, toImage, toScreen, zoomAt, type Viewport } from "./viewport";

export interface CanvasObject {
  objectNumber: number;
  color: Rgb;
  hidden?: boolean;
}

export interface CanvasSetup {
  width: number;
  height: number;
  phase: Phase;
  objects: CanvasObject[];
  selectedObject?: number | null;
  tool?: ToolMode;
  brushRadius?: number;
}

export class FrameCanvas {
  readonly element: HTMLCanvasElement;
  private ctx2d: CanvasRenderingContext2D;
  private events = new Emitter();
  private renderer = new OverlayRenderer();
  private overlayCanvas = document.createElement("canvas");
  private overlayPixels: ImageData | null = null;
  private machine: ToolMachine | null = null;
  private panner = createHandler("pan");
  private panning = false;
  private resizeObserver: ResizeObserver;

  private width = 0;
  private height = 0;
  private view: Viewport = { scale: 1, offsetX: 0, offsetY: 0 };
  private objects: CanvasObject[] = [];
  private selected: number | null = null;
  private frameIndex = 0;
  private image: CanvasImageSource | null = null;
  private masks = new Map<number, Rle>();
  private working: Uint8Array | null = null; // the selected object's mask while brushing
  private boxPreview: [number, number, number, number] | null = null;
  private points: readonly PointPrompt[] = [];
  private brushRadius = 8;
  private fitted = false;
  private frameRequest = 0;
  private overlayOpacity = 1;

  constructor(private container: HTMLElement) {
    this.element = document.createElement("canvas");
    this.element.className = "frame-canvas";
    this.element.tabIndex = 0;
    this.element.setAttribute("role", "img");
    this.element.setAttribute("aria-label", "Video frame with object masks");
    container.append(this.element);
    this.ctx2d = this.element.getContext("2d")!;
    this.element.addEventListener("pointerdown", this.onDown);
    this.element.addEventListener("pointermove", this.onMove);
    this.element.addEventListener("pointerup", this.onUp);
    this.element.addEventListener("pointercancel", this.onCancel);
    this.element.addEventListener("wheel", this.onWheel, { passive: false });
    this.element.addEventListener("keydown", this.onKey);
    // The right button places negative clicks: no context menu over the frame.
    this.element.addEventListener("contextmenu", (event) => event.preventDefault());
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
  }

  // ---- data in ---------------------------------------------------------------------------------

  setup(setup: CanvasSetup): void {
    this.width = setup.width;
    this.height = setup.height;
    this.objects = setup.objects;
    this.selected = setup.selectedObject !== undefined ? setup.selectedObject : (setup.objects[0]?.objectNumber ?? null);
    this.machine = new ToolMachine(setup.phase, setup.tool);
    this.brushRadius = setup.brushRadius ?? Math.max(4, Math.round(Math.min(setup.width, setup.height) / 60));
    this.overlayCanvas.width = setup.width;
    this.overlayCanvas.height = setup.height;
    this.overlayPixels = null;
    this.masks.clear();
    this.image = null;
    this.fitted = false;
    this.resize();
  }

  /** Show a frame with its masks (object number → RLE). The masks are not copied. */
  showFrame(frameIndex: number, image: CanvasImageSource | null, masks: Map<number, Rle>): Promise<void> {
    if (frameIndex !== this.frameIndex && !this.machine?.inGesture) this.boxPreview = null; // a box is of its frame
    this.frameIndex = frameIndex;
    this.image = image;
    this.masks = masks;
    this.working = null;
    this.draw();
    return this.repaintOverlay();
  }

  /** The clicks placed so far (any frame): those on the frame in view are drawn as + and − markers. */
  setPoints(points: readonly PointPrompt[]): void {
    this.points = points;
    this.draw();
  }

  /** How opaque the mask overlay is drawn over the frame, 0 (hidden) to 1. */
  setOverlayOpacity(opacity: number): void {
    this.overlayOpacity = Math.min(1, Math.max(0, opacity));
    this.element.dataset.overlayOpacity = String(this.overlayOpacity);
    this.draw();
  }

  setObjects(objects: CanvasObject[]): void {
    this.objects = objects;
    if (this.selected !== null && !objects.some((o) => o.objectNumber === this.selected)) {
      this.selected = objects[0]?.objectNumber ?? null;
    }
    void this.repaintOverlay();
  }

  selectObject(objectNumber: number | null): void {
    if (this.machine?.inGesture) this.machine.cancel(this.toolContext());
    this.selected = objectNumber;
    void this.repaintOverlay();
  }

  get selectedObject(): number | null {
    return this.selected;
  }

  // ---- tools and view --------------------------------------------------------------------------

  /** Throws IllegalTransitionError for a tool outside the phase or during a gesture. */
  setTool(mode: ToolMode): void {
    this.requireSetup().setMode(mode);
    this.element.dataset.tool = mode;
    this.events.emit("tool", { mode });
  }

  get tool(): ToolMode {
    return this.requireSetup().mode;
  }

  get tools(): readonly ToolMode[] {
    return this.machine?.tools ?? [];
  }

  get viewport(): Viewport {
    return this.view;
  }

  zoomBy(factor: number): void {
    const rect = this.element.getBoundingClientRect();
    this.setViewport(zoomAt(this.view, rect.width / 2, rect.height / 2, factor));
  }

  fitToView(): void {
    const rect = this.element.getBoundingClientRect();
    if (rect.width && rect.height && this.width) this.setViewport(fit(this.width, this.height, rect.width, rect.height));
  }

  on<K extends CanvasEventName>(name: K, listener: Listener<K>): () => void {
    return this.events.on(name, listener);
  }

  destroy(): void {
    this.resizeObserver.disconnect();
    this.renderer.dispose();
    this.element.remove();
  }

  // ---- drawing ---------------------------------------------------------------------------------

  private requireSetup(): ToolMachine {
    if (!this.machine) throw new Error("FrameCanvas.setup() must be called first.");
    return this.machine;
  }

  private setViewport(view: Viewport): void {
    this.view = view;
    this.events.emit("viewport", view);
    this.draw();
  }

  private resize(): void {
    const rect = this.container.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.element.width = Math.max(1, Math.round(rect.width * ratio));
    this.element.height = Math.max(1, Math.round(rect.height * ratio));
    this.element.style.width = `${rect.width}px`;
    this.element.style.height = `${rect.height}px`;
    if (!this.fitted && this.width && rect.width && rect.height) {
      this.view = fit(this.width, this.height, rect.width, rect.height);
      this.fitted = true;
    }
    this.draw();
  }

  private async repaintOverlay(): Promise<void> {
    if (!this.width) return;
    const request = ++this.frameRequest;
    const layers = [];
    for (const object of this.objects) {
      const rle = this.masks.get(object.objectNumber);
      if (!rle || object.hidden) continue;
      layers.push({ rle, color: object.color, selected: object.objectNumber === this.selected });
    }
    const pixels = await this.renderer.render(this.height, this.width, layers);
    if (!pixels || request !== this.frameRequest) return;
    this.overlayPixels = pixels;
    this.overlayCanvas.getContext("2d")!.putImageData(pixels, 0, 0);
    this.element.dataset.overlayFrame = String(this.frameIndex);
    this.draw();
  }

  private draw(): void {
    const ctx = this.ctx2d;
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#1b1d21";
    ctx.fillRect(0, 0, this.element.width, this.element.height);
    if (!this.width) return;
    const v = this.view;
    ctx.setTransform(v.scale * ratio, 0, 0, v.scale * ratio, v.offsetX * ratio, v.offsetY * ratio);
    ctx.imageSmoothingEnabled = v.scale < 2;
    // What is on screen, for tests and tools that read the canvas back.
    this.element.dataset.viewport = JSON.stringify(v);
    if (this.image) {
      ctx.drawImage(this.image, 0, 0, this.width, this.height);
      this.element.dataset.imageFrame = String(this.frameIndex);
    } else {
      delete this.element.dataset.imageFrame;
      ctx.fillStyle = "#2a2d33";
      ctx.fillRect(0, 0, this.width, this.height);
    }
    ctx.imageSmoothingEnabled = false; // mask pixels stay crisp when zoomed
    if (this.overlayPixels) {
      ctx.globalAlpha = this.overlayOpacity;
      ctx.drawImage(this.overlayCanvas, 0, 0);
      ctx.globalAlpha = 1;
    }
    const hidden = new Set(this.objects.filter((o) => o.hidden).map((o) => o.objectNumber));
    const markers = markerShapes(this.points, this.frameIndex, v, this.selected, hidden);
    drawMarkers(ctx, markers);
    this.element.dataset.markers = markers.map((m) => m.sign).join("");
    if (this.boxPreview) {
      const [x0, y0, x1, y1] = this.boxPreview;
      const selected = this.objects.find((o) => o.objectNumber === this.selected);
      ctx.lineWidth = 2 / v.scale;
      ctx.setLineDash([6 / v.scale, 4 / v.scale]);
      ctx.strokeStyle = selected ? cssColor(selected.color) : "#fff";
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      ctx.setLineDash([]);
      this.element.dataset.box = this.boxPreview.map((value) => Math.round(value)).join(",");
    } else {
      delete this.element.dataset.box;
    }
  }

  // ---- tool context: what handlers may do --------------------------------------------------------

  private toolContext(): ToolContext {
    const canvas = this;
    return {
      imageWidth: this.width,
      imageHeight: this.height,
      frameIndex: this.frameIndex,
      objectNumber: this.selected,
      brushRadius: this.brushRadius,
      get viewport() {
        return canvas.view;
      },
      set viewport(view: Viewport) {
        canvas.setViewport(view);
      },
      emit: (name, payload) => this.events.emit(name, payload),
      showBox: (box) => {
        this.boxPreview = box;
        this.draw();
      },
      stroke: (from, to, value) => this.stroke(from, to, value),
      commitStroke: (tool) => {
        if (!this.working || this.selected === null) return;
        const mask = encode(this.working, this.height, this.width);
        this.masks.set(this.selected, mask);
        this.working = null;
        this.events.emit("mask", { frameIndex: this.frameIndex, objectNumber: this.selected, mask, tool });
        void this.repaintOverlay();
      },
    };
  }

  private stroke(from: [number, number], to: [number, number], value: 0 | 1): void {
    if (this.selected === null) return;
    const h = this.height, w = this.width;
    if (!this.working) this.working = decode(this.masks.get(this.selected) ?? empty(h, w));
    strokeSegment(this.working, h, w, from, to, this.brushRadius, value);
    // Show the stroke at once on the overlay; outlines are redrawn by the worker on commit.
    if (this.overlayPixels) {
      const color = this.objects.find((o) => o.objectNumber === this.selected)?.color ?? [255, 255, 255];
      const stamp = new Uint8Array(h * w); // scratch for the touched pixels only
      strokeSegment(stamp, h, w, from, to, this.brushRadius, 1);
      const px = this.overlayPixels.data;
      const r = this.brushRadius + 1;
      const xs = [Math.max(0, Math.floor(Math.min(from[0], to[0]) - r)), Math.min(w - 1, Math.ceil(Math.max(from[0], to[0]) + r))];
      const ys = [Math.max(0, Math.floor(Math.min(from[1], to[1]) - r)), Math.min(h - 1, Math.ceil(Math.max(from[1], to[1]) + r))];
      for (let x = xs[0]; x <= xs[1]; x++) {
        for (let y = ys[0]; y <= ys[1]; y++) {
          if (!stamp[x * h + y]) continue;
          const o = (y * w + x) * 4;
          px[o] = color[0];
          px[o + 1] = color[1];
          px[o + 2] = color[2];
          px[o + 3] = value ? 150 : 0;
        }
      }
      this.overlayCanvas.getContext("2d")!.putImageData(this.overlayPixels, 0, 0);
    }
    this.draw();
  }

  // ---- pointer and keyboard --------------------------------------------------------------------

  private input(event: PointerEvent | WheelEvent): PointerInput {
    const rect = this.element.getBoundingClientRect();
    const sx = event.clientX - rect.left, sy = event.clientY - rect.top;
    const [ix, iy] = toImage(this.view, sx, sy);
    return { sx, sy, ix, iy };
  }

  private onDown = (event: PointerEvent): void => {
    if (!this.machine) return;
    this.element.focus();
    this.element.setPointerCapture?.(event.pointerId);
    const p = this.input(event);
    if (event.button === 1) {
      // The middle button pans whatever the tool (no tool state involved).
      event.preventDefault();
      this.panning = true;
      this.panner.down(p, this.toolContext());
      return;
    }
    const clickTool = this.machine.mode === "click-positive" || this.machine.mode === "click-negative";
    if ((event.button !== 0 && !(event.button === 2 && clickTool)) || this.machine.inGesture) return;
    p.negative = event.button === 2 || event.shiftKey;
    this.machine.down(p, this.toolContext());
  };

  private onMove = (event: PointerEvent): void => {
    if (!this.machine) return;
    const p = this.input(event);
    if (this.panning) this.panner.move(p, this.toolContext());
    else this.machine.move(p, this.toolContext());
  };

  private onUp = (event: PointerEvent): void => {
    if (!this.machine) return;
    const p = this.input(event);
    if (this.panning) {
      this.panning = false;
      this.panner.up(p, this.toolContext());
      return;
    }
    this.machine.up(p, this.toolContext());
  };

  private onCancel = (): void => {
    this.panning = false;
    this.machine?.cancel(this.toolContext());
    this.working = null;
    void this.repaintOverlay();
  };

  private onWheel = (event: WheelEvent): void => {
    event.preventDefault();
    const p = this.input(event);
    this.setViewport(zoomAt(this.view, p.sx, p.sy, Math.exp(-event.deltaY * 0.0015)));
  };

  private onKey = (event: KeyboardEvent): void => {
    if (event.key === "Escape") this.onCancel();
  };

  /** Screen position (CSS px in the canvas) of an image point: for tests and tooltips. */
  screenOf(ix: number, iy: number): [number, number] {
    return toScreen(this.view, ix, iy);
  }
}


