/**
 * The annotator's workspace: one task's video in the frame view, its objects, the phase's tools,
 * the timeline, propagation, undo, submit. It owns the API calls; the canvas only reports what
 * the annotator did.
 */
import { objectName, type LabelRef } from "../../api/labels";
import { jobs, isTerminal, type Job } from "../../api/platform";
import { tasks } from "../../api/queue";
import { session as sessionApi, type Direction, type PromptAnswer, type PromptRequest, type Session } from "../../api/session";
import { FrameCanvas } from "../../canvas/frame-canvas";
import type { PointPrompt } from "../../canvas/markers";
import { colorFor, type Rgb } from "../../canvas/overlay";
import { IllegalTransitionError, TOOL_LABELS, type ToolMode } from "../../canvas/tools";
import type { AppContext } from "../app";
import { errorText, h, messageBox, type Screen } from "../dom";
import { FrameStore } from "../frames";
import { Playback } from "../playback";
import { startClick } from "../perf";
import { installShortcuts, type Shortcut } from "../shortcuts";
import { Timeline } from "../timeline";
import { MaskStore } from "./masks";
import { objectsPanel } from "./objects-panel";
import { playerControls } from "./player";
import { emptyFrames, propagationPanel, propagationSummary } from "./propagation";
import { reviewNotes } from "./review-notes";
import { TOOL_KEYS, toolbar } from "./toolbar";
import { viewControls } from "./view-controls";

const PHASE_HELP: Record<number, string> = {
  1: "Phase 1: SAM on every frame. Click or draw a box on each frame, then fix its edges with the brush and eraser; there is no propagation.",
  2: "Phase 2: SAM on a frame, then SAM 2 Mask propagates masks. Fix a frame with clicks or the brush and eraser, then propagate again.",
  3: "Phase 3: full SAM 2. Click on any frame; the memory refines the masklet; propagate.",
};

export async function workspaceScreen(ctx: AppContext, params: Record<string, string>): Promise<Screen> {
  const taskId = Number(params.taskId);
  const message = messageBox();
  const element = h("section", { class: "workspace", "aria-label": `Task ${taskId}` }, message.element);
  let session: Session;
  try {
    session = await sessionApi.open(taskId);
  } catch (error) {
    message.show(errorText(error));
    element.append(h("a", { href: "/app/annotate", "data-link": true }, "Back to the queue"));
    return { element };
  }
  return buildWorkspace(ctx, taskId, session, element, message);
}

function buildWorkspace(ctx: AppContext, taskId: number, session: Session, element: HTMLElement, message: ReturnType<typeof messageBox>): Screen {
  const { video, phase } = session;
  const frames = new FrameStore(video.frames);
  const store = new MaskStore(video.frame_count);
  const colors = new Map<number, Rgb>();
  let objects = session.objects.map((o) => o.object_number);
  const objectLabels = new Map<number, LabelRef>();
  for (const o of session.objects) {
    colors.set(o.object_number, colorFor(o.object_number));
    objectLabels.set(o.object_number, o.label);
    store.addObject(o.object_number);
  }
  const nameOf = (n: number) => objectName(n, objectLabels.get(n));
  let busy = false;
  let job: Job | null = null;
  // The clicks that count, drawn as markers: the stored ones (after a reload too), then this page's.
  let points: PointPrompt[] = session.points.map((p) => ({
    frameIndex: p.frame_index, objectNumber: p.object_number, point: [p.point[0], p.point[1]], label: p.label ? 1 : 0 }));
  let jobTimer = 0;

  const stage = h("div", { class: "stage" });
  const canvas = new FrameCanvas(stage);
  const canvasObjects = () => objects.map((n) => ({ objectNumber: n, color: colors.get(n)!, label: objectLabels.get(n)! }));
  canvas.setup({ width: video.width, height: video.height, phase, objects: canvasObjects() });
  canvas.setPoints(points);

  const show = async (frame: number) => {
    frames.prefetch(frame);
    let image: HTMLImageElement | null = frames.cached(frame) ?? null;
    if (!image) {
      void canvas.showFrame(frame, null, store.frame(frame));
      image = await frames.load(frame).catch(() => null);
      if (playback.cursor !== frame) return;
    }
    await canvas.showFrame(frame, image, store.frame(frame));
    void loadMasksAround(frame);
  };
  const playback = new Playback(video.frame_count, 6, show, () => refreshControls());
  const timeline = new Timeline(video.frame_count, (f) => void playback.seek(f));

  const tools = toolbar(canvas.tools, (mode) => pickTool(mode));
  const objectList = objectsPanel(session.labels, {
    select: (n) => {
      canvas.selectObject(n);
      refreshObjects();
    },
    add: (label) => void addObject(label),
    remove: (n) => void removeObject(n),
    relabel: (n, label) => void relabelObject(n, label),
  });
  const propagation = propagationPanel({ start: (d) => void propagate(d), cancel: () => void cancelJob() });
  const player = playerControls(video.frame_count, {
    seek: (f) => void playback.seek(f),
    step: (d) => void playback.step(d),
    toggle: () => playback.toggle(),
  });
  const undo = h("button", { type: "button", title: "Undo the last prompt or propagation (u)", on: { click: () => void runUndo() } }, "Undo");
  const undoProgress = h("progress", { class: "undo-progress", max: 1, hidden: true, "aria-label": "Undo: recomputing the session" });
  const submit = h("button", { type: "button", class: "primary", on: { click: () => void runSubmit() } }, "Submit");
  const release = h("button", { type: "button", title: "Give this task back to the queue without submitting", on: { click: () => void runRelease() } }, "Skip task");
  const latency = h("span", { class: "latency", "aria-live": "polite" });
  const view = viewControls({
    opacity: (value) => canvas.setOverlayOpacity(value),
    color: (color) => {
      const n = canvas.selectedObject;
      if (n === null) return;
      colors.set(n, color);
      canvas.setObjects(canvasObjects());
      refreshObjects();
    },
  });
  const notes = session.review ? reviewNotes(session.review, (f) => void playback.seek(f)) : null;
  if (session.review) timeline.setNotes(session.review.frames);

  const head = h("div", { class: "workspace-head" },
      h("h1", null, `Task ${taskId}`),
      h("span", { class: "video-name", title: "Video" }, video.name),
      h("span", { class: "badge" }, session.kind === "refine" ? `Phase ${phase} · rework` : `Phase ${phase}`),
      h("span", { class: "muted" }, `model ${session.model_version_name ?? "default"} on ${session.worker}`),
      latency, undoProgress, undo, release, submit);
  element.append(
    head,
    message.element, // floats over the work (see styles.css): showing it never moves the canvas
    ...(notes ? [notes.element] : []),
    h("p", { class: "muted phase-help" }, PHASE_HELP[phase]),
    tools.element,
    h("div", { class: "workspace-body" }, stage,
      h("div", { class: "side-column" },
        objectList.element,
        phase === 1 ? h("p", { class: "muted" }, "Phase 1 has no propagation: annotate each frame.") : propagation.element,
        view.element)),
    player.element,
    timeline.element,
    h("p", { class: "muted" }, "Press ? for keyboard shortcuts. Right-click or Shift-click: a negative click."));

  // ---- canvas events → API ------------------------------------------------------------------------
  // One prompt per click: the session keeps the frame's earlier points (SAM 2 adds to them).
  canvas.on("click", ({ frameIndex, objectNumber, point, label }) => {
    const done = startClick();
    const marker: PointPrompt = { frameIndex, objectNumber, point, label };
    setPoints([...points, marker]); // drawn at once, before the mask comes back
    void prompt({ frame_index: frameIndex, object_number: objectNumber, kind: "click", points: [point], labels: [label] },
      marker, done);
  });
  canvas.on("box", ({ frameIndex, objectNumber, box }) =>
    void prompt({ frame_index: frameIndex, object_number: objectNumber, kind: "box", box }));
  canvas.on("mask", ({ frameIndex, objectNumber, mask }) =>
    void prompt({ frame_index: frameIndex, object_number: objectNumber, kind: "mask", mask }));

  function setPoints(next: PointPrompt[]) {
    points = next;
    canvas.setPoints(points);
  }

  async function prompt(body: PromptRequest, marker: PointPrompt | null = null,
    done?: ReturnType<typeof startClick>) {
    message.clear();
    try {
      const answer = await sessionApi.prompt(taskId, body);
      done?.answered();
      await applyAnswer(answer, true);
      done?.drawn({ latency_ms: answer.latency_ms, round_trip_ms: answer.round_trip_ms, frame_index: answer.frame_index });
    } catch (error) {
      if (marker) setPoints(points.filter((p) => p !== marker));
      message.show(errorText(error));
    }
  }

  /** Stores the answer's mask and, when its frame is in view, draws it (resolves once drawn). */
  async function applyAnswer(answer: PromptAnswer, edited: boolean) {
    store.set(answer.object_number, answer.frame_index, answer.mask, edited);
    latency.textContent = `${Math.round(answer.latency_ms)} ms`;
    latency.title = `Model time on the worker; ${Math.round(answer.round_trip_ms)} ms there and back`;
    timeline.invalidate();
    if (playback.cursor === answer.frame_index) {
      await canvas.showFrame(answer.frame_index, frames.cached(answer.frame_index) ?? null, store.frame(answer.frame_index));
    }
  }

  async function loadMasksAround(frame: number) {
    for (const [start, end] of store.missingWindows(frame)) {
      store.markLoaded(start);
      try {
        for (const object of await sessionApi.masks(taskId, start, end - 1)) {
          for (const [index, rle] of Object.entries(object.masks)) store.set(object.object_number, Number(index), rle);
        }
        timeline.invalidate();
        if (playback.cursor >= start && playback.cursor < end) {
          await canvas.showFrame(playback.cursor, frames.cached(playback.cursor) ?? null, store.frame(playback.cursor));
        }
      } catch (error) {
        message.show(`Masks of frames ${start + 1}–${end} could not be loaded: ${errorText(error)}`);
      }
    }
  }

  function pickTool(mode: ToolMode) {
    try {
      canvas.setTool(mode);
      tools.setActive(mode);
    } catch (error) {
      if (error instanceof IllegalTransitionError) message.show(error.message, "info");
      else throw error;
    }
  }

  async function addObject(label: number = objectList.newLabel) {
    busy = true;
    refreshObjects();
    try {
      const added = await sessionApi.addObject(taskId, label || undefined);
      const { object_number } = added;
      objectLabels.set(object_number, added.label);
      colors.set(object_number, colorFor(object_number));
      store.addObject(object_number);
      objects = [...objects, object_number];
      canvas.setObjects(canvasObjects());
      canvas.selectObject(object_number);
    } catch (error) {
      message.show(errorText(error));
    } finally {
      busy = false;
      refreshObjects();
    }
  }

  async function relabelObject(n: number, label: number) {
    try {
      const changed = await sessionApi.setLabel(taskId, n, label);
      objectLabels.set(n, changed.label);
    } catch (error) {
      message.show(errorText(error));
    }
    refreshObjects();
  }

  async function removeObject(n: number) {
    if (!window.confirm(`Remove ${nameOf(n)} and its masks from this task?`)) return;
    try {
      await sessionApi.removeObject(taskId, n);
      objects = objects.filter((o) => o !== n);
      setPoints(points.filter((p) => p.objectNumber !== n));
      store.removeObject(n);
      canvas.setObjects(canvasObjects());
      refreshObjects();
      void show(playback.cursor);
    } catch (error) {
      message.show(errorText(error));
    }
  }

  async function propagate(direction: Direction) {
    if (job) return;
    message.clear();
    try {
      job = await sessionApi.propagate(taskId, playback.cursor, direction);
      refreshControls();
      pollJob();
    } catch (error) {
      message.show(errorText(error));
    }
  }

  function pollJob() {
    clearTimeout(jobTimer);
    jobTimer = window.setTimeout(async () => {
      if (!job) return;
      try {
        job = await jobs.get(job.id);
      } catch (error) {
        message.show(errorText(error));
      }
      propagation.showJob(job);
      if (job && isTerminal(job)) {
        if (job.status === "failed") message.show(`Propagation failed: ${job.message || "no message"}`);
        if (job.status === "succeeded") {
          store.setVanished(emptyFrames(job.result));
          refreshObjects();
          message.show(propagationSummary(job.result, job.progress.total ?? 0, nameOf), "info");
        }
        if (job.status === "cancelled") message.show("Propagation cancelled.", "info");
        job = null;
        store.invalidate();
        refreshControls();
        void show(playback.cursor);
      } else pollJob();
    }, 500);
  }

  async function cancelJob() {
    if (!job) return;
    try {
      job = await jobs.cancel(job.id);
      propagation.showJob(job);
    } catch (error) {
      message.show(errorText(error));
    }
  }

  async function runUndo() {
    message.clear();
    // An undo is a snapshot restore on the worker (as fast as a click); when the worker has no
    // snapshot of that state it recomputes the session: its progress shows after a moment.
    let polling = true;
    const poll = async () => {
      while (polling) {
        await new Promise((resolve) => setTimeout(resolve, 400));
        if (!polling) break;
        const progress = await sessionApi.progress(taskId).catch(() => null);
        if (!polling || !progress || progress.done === null || progress.total === null) continue;
        undoProgress.hidden = false;
        undoProgress.max = Math.max(1, progress.total);
        undoProgress.value = progress.done;
        message.show(`Recomputing the session to undo: step ${progress.done + 1} of ${progress.total}…`, "info");
      }
    };
    void poll();
    try {
      const answer = await sessionApi.undo(taskId);
      polling = false;
      if (undoProgress.hidden === false) message.clear();
      if (answer.undone_kind === "click+" || answer.undone_kind === "click-") {
        const i = points.map((p) => p.frameIndex === answer.frame_index && p.objectNumber === answer.object_number).lastIndexOf(true);
        if (i >= 0) setPoints(points.filter((_, k) => k !== i));
      }
      if (answer.undone_kind === "propagate") {
        store.setVanished(new Map(objects.map((n) => [n, []])));
        message.show("Propagation undone: the masks are back to what they were before it.", "info");
      }
      store.invalidate();
      refreshObjects();
      void applyAnswer(answer, false);
      await playback.seek(answer.frame_index);
    } catch (error) {
      message.show(errorText(error));
    } finally {
      polling = false;
      undoProgress.hidden = true;
    }
  }

  async function runRelease() {
    if (!window.confirm("Give this task back to the queue? Its work so far stays saved with it.")) return;
    try {
      await tasks.release(taskId);
      ctx.navigate("/app/annotate");
    } catch (error) {
      message.show(errorText(error));
    }
  }

  async function runSubmit() {
    if (!window.confirm("Submit this task's masklets for review?")) return;
    try {
      await tasks.submit(taskId);
      ctx.navigate("/app/annotate");
    } catch (error) {
      message.show(errorText(error));
    }
  }

  function refreshObjects() {
    objectList.render(canvasObjects(), canvas.selectedObject, busy);
    const selected = canvas.selectedObject;
    view.setColor(selected === null ? null : colors.get(selected) ?? null);
    timeline.setTracks(objects.map((n) => ({ objectNumber: n, color: colors.get(n)!, presence: store.presence.get(n)!, edited: store.edited.get(n)!, vanished: store.vanished.get(n)! })));
  }

  function refreshControls() {
    player.update(playback.cursor, playback.isPlaying);
    timeline.setCursor(playback.cursor);
    propagation.setEnabled(!job && phase !== 1);
    propagation.showJob(job);
  }

  const heartbeat = window.setInterval(() => void tasks.heartbeat(taskId).catch(() => undefined), 30_000);
  const toolShortcuts: Shortcut[] = canvas.tools.map((mode) => ({ keys: [TOOL_KEYS[mode]], label: TOOL_LABELS[mode], run: () => pickTool(mode) }));
  const removeShortcuts = installShortcuts([
    ...toolShortcuts,
    { keys: [" "], label: "Play / pause", run: () => playback.toggle() },
    { keys: ["ArrowRight"], label: "Next frame (Shift: 10 frames)", run: (e) => void playback.step(e.shiftKey ? 10 : 1) },
    { keys: ["ArrowLeft"], label: "Previous frame (Shift: 10 frames)", run: (e) => void playback.step(e.shiftKey ? -10 : -1) },
    { keys: ["Home"], label: "First frame", run: () => void playback.seek(0) },
    { keys: ["End"], label: "Last frame", run: () => void playback.seek(video.frame_count - 1) },
    { keys: ["]"], label: "Next object", run: () => cycleObject(1) },
    { keys: ["["], label: "Previous object", run: () => cycleObject(-1) },
    { keys: ["a"], label: "Add an object", run: () => void addObject() },
    { keys: ["u"], label: "Undo", run: () => void runUndo() },
    { keys: ["f"], label: "Propagate forward", run: () => void propagate("forward"), enabled: () => phase !== 1 },
    { keys: ["d"], label: "Propagate backward", run: () => void propagate("backward"), enabled: () => phase !== 1 },
    { keys: ["g"], label: "Propagate both ways", run: () => void propagate("both"), enabled: () => phase !== 1 },
    { keys: ["+", "="], label: "Zoom in", run: () => canvas.zoomBy(1.25) },
    { keys: ["-"], label: "Zoom out", run: () => canvas.zoomBy(0.8) },
    { keys: ["0"], label: "Fit the frame", run: () => canvas.fitToView() },
  ], "Workspace");

  function cycleObject(delta: number) {
    if (!objects.length) return;
    const i = objects.indexOf(canvas.selectedObject ?? objects[0]);
    canvas.selectObject(objects[(i + delta + objects.length) % objects.length]);
    refreshObjects();
  }

  tools.setActive(canvas.tool);
  refreshObjects();
  refreshControls();
  void playback.seek(0);

  return {
    element,
    unmount() {
      removeShortcuts();
      clearInterval(heartbeat);
      clearTimeout(jobTimer);
      playback.destroy();
      timeline.destroy();
      canvas.destroy();
    },
  };
}
