export { FrameCanvas, type CanvasObject, type CanvasSetup } from "./frame-canvas";
export type { CanvasEvents, CanvasEventName } from "./events";
export { IllegalTransitionError, PHASE_TOOLS, TOOL_LABELS, ToolMachine, type Phase, type ToolMode } from "./tools";
export { colorFor, cssColor, PALETTE, type Rgb } from "./overlay";
export * as rle from "./rle";
export * as viewport from "./viewport";
export { markerShapes, type MarkerShape, type PointPrompt } from "./markers";
