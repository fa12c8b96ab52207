import { describe, expect, it } from "vitest";
import type { CanvasEvents } from "../src/canvas/events";
import { IllegalTransitionError, PHASE_TOOLS, ToolMachine, type PointerInput, type ToolContext } from "../src/canvas/tools";
import type { Viewport } from "../src/canvas/viewport";

function context(overrides: Partial<ToolContext> = {}) {
  const events: { name: keyof CanvasEvents; payload: unknown }[] = [];
  const strokes: unknown[] = [];
  const boxes: unknown[] = [];
  let viewport: Viewport = { scale: 1, offsetX: 0, offsetY: 0 };
  const ctx: ToolContext = {
    imageWidth: 100,
    imageHeight: 80,
    frameIndex: 7,
    objectNumber: 2,
    brushRadius: 3,
    get viewport() {
      return viewport;
    },
    set viewport(v) {
      viewport = v;
    },
    emit: (name, payload) => events.push({ name, payload }),
    showBox: (box) => boxes.push(box),
    stroke: (a, b, value) => strokes.push([a, b, value]),
    commitStroke: (tool) => events.push({ name: "mask", payload: tool }),
    ...overrides,
  };
  return { ctx, events, strokes, boxes, viewport: () => viewport };
}

const at = (x: number, y: number): PointerInput => ({ sx: x, sy: y, ix: x, iy: y });

describe("tool modes per phase", () => {
  it("phases 1 and 2 have the brush, phase 2 no box", () => {
    expect(PHASE_TOOLS[1]).toContain("brush");
    expect(PHASE_TOOLS[1]).toContain("eraser");
    expect(PHASE_TOOLS[2]).toContain("eraser");
    expect(PHASE_TOOLS[2]).not.toContain("box");
    expect(PHASE_TOOLS[3]).toContain("box");
  });

  it("a tool outside the phase is an illegal transition", () => {
    const machine = new ToolMachine(3);
    expect(() => machine.setMode("brush")).toThrow(IllegalTransitionError);
    expect(machine.mode).toBe("click-positive");
    expect(() => new ToolMachine(2, "box")).toThrow(IllegalTransitionError);
  });

  it("switching tools mid-gesture throws, and is fine after release", () => {
    const { ctx } = context();
    const machine = new ToolMachine(3, "box");
    machine.down(at(1, 1), ctx);
    expect(() => machine.setMode("pan")).toThrow(/middle of a Box gesture/);
    expect(() => machine.down(at(2, 2), ctx)).toThrow(IllegalTransitionError);
    machine.up(at(30, 30), ctx);
    machine.setMode("pan");
    expect(machine.mode).toBe("pan");
  });
});

describe("tool handlers", () => {
  it("positive and negative clicks emit labelled points on the current frame", () => {
    const { ctx, events } = context();
    const machine = new ToolMachine(3);
    machine.down(at(10, 20), ctx);
    machine.up(at(11, 21), ctx);
    machine.setMode("click-negative");
    machine.down(at(50, 40), ctx);
    machine.up(at(50, 40), ctx);
    expect(events).toEqual([
      { name: "click", payload: { frameIndex: 7, objectNumber: 2, point: [11, 21], label: 1 } },
      { name: "click", payload: { frameIndex: 7, objectNumber: 2, point: [50, 40], label: 0 } },
    ]);
  });

  it("a drag is not a click; a click outside the image or without an object is dropped", () => {
    const machine = new ToolMachine(1);
    const a = context();
    machine.down(at(10, 10), a.ctx);
    machine.up(at(40, 10), a.ctx);
    machine.down(at(150, 10), a.ctx);
    machine.up(at(150, 10), a.ctx);
    expect(a.events).toEqual([]);
    const b = context({ objectNumber: null });
    machine.down(at(10, 10), b.ctx);
    machine.up(at(10, 10), b.ctx);
    expect(b.events).toEqual([]);
  });

  it("box: normalised corners clamped to the image, drawn while dragging and kept after", () => {
    const { ctx, events, boxes } = context();
    const machine = new ToolMachine(1, "box");
    machine.down(at(60, 70), ctx);
    machine.move(at(20, 10), ctx);
    machine.up(at(-5, 5), ctx);
    expect(events).toEqual([{ name: "box", payload: { frameIndex: 7, objectNumber: 2, box: [0, 5, 60, 70] } }]);
    expect(boxes[0]).toEqual([20, 10, 60, 70]);
    expect(boxes.at(-1)).toEqual([0, 5, 60, 70]); // the box sent stays drawn
  });

  it("box: a box too small to send is not kept", () => {
    const { ctx, events, boxes } = context();
    const machine = new ToolMachine(1, "box");
    machine.down(at(10, 10), ctx);
    machine.up(at(11, 11), ctx);
    expect(events).toEqual([]);
    expect(boxes.at(-1)).toBeNull();
  });

  it("a click tool places a negative click on a right-click or Shift-click", () => {
    const { ctx, events } = context();
    const machine = new ToolMachine(3, "click-positive");
    machine.down({ ...at(5, 5), negative: true }, ctx);
    machine.up(at(5, 5), ctx);
    machine.down(at(6, 6), ctx);
    machine.up(at(6, 6), ctx);
    expect(events.map((e) => (e.payload as { label: number }).label)).toEqual([0, 1]);
  });

  it("brush strokes every segment and commits one mask prompt on release", () => {
    const { ctx, events, strokes } = context();
    const machine = new ToolMachine(2, "brush");
    machine.down(at(5, 5), ctx);
    machine.move(at(8, 5), ctx);
    machine.up(at(8, 5), ctx);
    machine.setMode("eraser");
    machine.down(at(1, 1), ctx);
    machine.up(at(1, 1), ctx);
    expect(strokes).toEqual([[[5, 5], [5, 5], 1], [[5, 5], [8, 5], 1], [[1, 1], [1, 1], 0]]);
    expect(events).toEqual([{ name: "mask", payload: "brush" }, { name: "mask", payload: "eraser" }]);
  });

  it("pan moves the viewport by the pointer's screen motion; cancel ends a gesture quietly", () => {
    const c = context();
    const machine = new ToolMachine(3, "pan");
    machine.down(at(10, 10), c.ctx);
    machine.move(at(25, 5), c.ctx);
    expect(c.viewport()).toEqual({ scale: 1, offsetX: 15, offsetY: -5 });
    machine.cancel(c.ctx);
    expect(machine.inGesture).toBe(false);
    machine.setMode("box");
  });
});
