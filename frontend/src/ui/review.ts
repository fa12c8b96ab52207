/**
 * The verification queue: take the next masklet, play it with its overlay at a chosen speed,
 * zoom in, jump to a frame, pin notes to frames (the annotator of the rework task sees them), and
 * accept it or reject it with a reason. Shortcuts: Space play, ←/→ step, +/−/0 zoom, a accept, r reject.
 */
import { objectName } from "../api/labels";
import { videos, type VideoDetail } from "../api/platform";
import { masklets, reviews, type Comment, type Masklet, type MaskletRevision } from "../api/queue";
import type { Rle } from "../api/rle-types";
import { FrameCanvas } from "../canvas/frame-canvas";
import { colorFor } from "../canvas/overlay";
import { isEmpty } from "../canvas/rle";
import type { AppContext } from "./app";
import { errorText, h, messageBox, replaceChildren, type Screen } from "./dom";
import { FrameStore } from "./frames";
import { Playback } from "./playback";
import { installShortcuts } from "./shortcuts";
import { Timeline } from "./timeline";

const REASONS = ["Wrong object", "Mask leaks onto the background", "Mask misses part of the object",
  "Object lost during the video", "Occlusion handled wrong"];
const SPEEDS = [0.25, 0.5, 1, 2, 4];
const BASE_FPS = 6;

export function reviewScreen(_ctx: AppContext): Screen {
  const message = messageBox();
  const body = h("div", { class: "review-body" });
  const nextButton = h("button", { type: "button", class: "primary", on: { click: () => void loadNext() } }, "Next masklet");
  // The verifier's least certain masklets first (score closest to 0.5), or the oldest first.
  const uncertain = h("input", { id: "review-uncertain", type: "checkbox" });
  const score = h("span", { class: "muted", id: "review-verifier-score" });
  const element = h("section", { class: "review", "aria-labelledby": "review-title" },
    h("div", { class: "workspace-head" }, h("h1", { id: "review-title" }, "Verification queue"),
      h("label", { for: "review-uncertain" }, uncertain, " Least certain first"), score, nextButton),
    message.element, body);
  let current: ReviewView | null = null;
  // The masklet leased to this reviewer: given back when they leave (another screen, another
  // page, the tab closed) so that it does not wait out REVIEW_LEASE_SECONDS for the others.
  let leased: number | null = null;
  // The page going away: a keepalive request that outlives it. Another screen of the app: a plain one.
  const giveBack = (pageGoing: boolean): Promise<void> => {
    const id = leased;
    leased = null;
    if (id === null) return Promise.resolve();
    if (pageGoing) return Promise.resolve(masklets.releaseOnLeave(id));
    return masklets.release(id).catch(() => undefined);
  };
  const onPageHide = () => void giveBack(true);
  // Back from the browser's page cache: the lease was given back on the way out; take one again.
  const onPageShow = (event: PageTransitionEvent) => {
    if (event.persisted) void loadNext();
  };
  window.addEventListener("pagehide", onPageHide);
  window.addEventListener("pageshow", onPageShow);

  async function loadNext(keepMessage = false) {
    if (!keepMessage) message.clear();
    current?.destroy();
    current = null;
    leased = null;
    replaceChildren(body, h("p", { class: "muted" }, "Loading the next masklet…"));
    try {
      const masklet = await reviews.next(uncertain.checked ? "uncertain" : "oldest");
      score.textContent = masklet?.verifier_score == null ? "" : `Verifier: ${(100 * masklet.verifier_score).toFixed(0)} % likely accepted`;
      if (!masklet) {
        replaceChildren(body, h("p", { class: "empty" }, "The verification queue is empty."));
        return;
      }
      leased = masklet.id;
      const full = masklet.current_revision?.masks ? masklet : await masklets.get(masklet.id);
      const revision = full.current_revision;
      if (!revision) throw new Error(`Masklet ${full.id} has no revision to review.`);
      const video = await videos.get(full.video);
      const notes = (await masklets.comments(full.id)).filter((c) => c.revision === revision.id);
      current = new ReviewView(full, revision, video, notes, message, async (decision, reason) => {
        try {
          if (decision === "accept") await masklets.accept(full.id, revision.id);
          else if (decision === "reject") await masklets.reject(full.id, revision.id, reason);
          else await masklets.release(full.id);
          leased = null;
          message.show(`Masklet ${full.id} ${{ accept: "accepted", reject: "rejected", skip: "skipped: back in the queue for others" }[decision]}.`, "info");
          await loadNext(true);
        } catch (error) {
          message.show(errorText(error));
        }
      });
      replaceChildren(body, current.element);
    } catch (error) {
      replaceChildren(body);
      message.show(errorText(error));
    }
  }
  void loadNext();
  return {
    element,
    unmount: () => {
      window.removeEventListener("pagehide", onPageHide);
      window.removeEventListener("pageshow", onPageShow);
      current?.destroy();
      return giveBack(false);
    },
  };
}

class ReviewView {
  readonly element: HTMLElement;
  private canvas: FrameCanvas;
  private playback: Playback;
  private timeline: Timeline;
  private removeShortcuts: () => void;

  constructor(masklet: Masklet, revision: MaskletRevision, video: VideoDetail, pinned: Comment[],
    message: ReturnType<typeof messageBox>,
    decide: (decision: "accept" | "reject" | "skip", reason: string) => Promise<void>) {
    const count = video.frame_urls.length;
    const frames = new FrameStore(video.frame_urls);
    const color = colorFor(masklet.object_number);
    const masks = new Map<number, Rle>(Object.entries(revision.masks).map(([k, v]) => [Number(k), v]));
    const presence = new Uint8Array(count);
    for (const [f, rle] of masks) if (f < count) presence[f] = isEmpty(rle) ? 0 : 1;

    const stage = h("div", { class: "stage" });
    this.canvas = new FrameCanvas(stage);
    this.canvas.setup({ width: video.width!, height: video.height!, phase: 3, tool: "pan",
      objects: [{ objectNumber: masklet.object_number, color }], selectedObject: null });
    const show = async (frame: number) => {
      frames.prefetch(frame);
      const image = frames.cached(frame) ?? (await frames.load(frame).catch(() => null));
      if (this.playback.cursor !== frame) return;
      const rle = masks.get(frame);
      await this.canvas.showFrame(frame, image, rle ? new Map([[masklet.object_number, rle]]) : new Map());
    };
    const position = h("span", { class: "frame-position" });
    const playButton = h("button", { type: "button", "aria-label": "Play (Space)", on: { click: () => this.playback.toggle() } }, "▶");
    this.playback = new Playback(count, BASE_FPS, show, () => {
      position.textContent = `Frame ${this.playback.cursor + 1} of ${count}`;
      if (document.activeElement !== jump) jump.value = String(this.playback.cursor + 1);
      playButton.textContent = this.playback.isPlaying ? "||" : "▶";
      playButton.setAttribute("aria-label", this.playback.isPlaying ? "Pause (Space)" : "Play (Space)");
      this.timeline.setCursor(this.playback.cursor);
    });
    this.timeline = new Timeline(count, (f) => void this.playback.seek(f));
    this.timeline.setTracks([{ objectNumber: masklet.object_number, color, presence, edited: new Set(revision.edited_frames ?? []) }]);

    const speed = h("select", { id: "review-speed", on: { change: () => (this.playback.fps = BASE_FPS * Number(speed.value)) } },
      ...SPEEDS.map((s) => h("option", { value: String(s), selected: s === 1 }, `${s}×`)));
    const reason = h("textarea", { id: "reject-reason", rows: 2, placeholder: "Why is this masklet rejected?" });
    const presets = h("div", { class: "reason-presets", role: "group", "aria-label": "Common reasons" },
      ...REASONS.map((r) => h("button", { type: "button", class: "chip", on: { click: () => (reason.value = r) } }, r)));
    const rejectForm = h("form", { class: "reject-form", hidden: true, on: { submit: (e) => {
      e.preventDefault();
      if (!reason.value.trim()) return reason.focus();
      void decide("reject", reason.value.trim());
    } } },
      h("label", { for: "reject-reason" }, "Reason for rejecting"), presets, reason,
      h("button", { type: "submit", class: "danger" }, "Reject masklet"));
    // Jump to a frame; zoom; notes pinned to frames.
    const jump = h("input", { id: "review-frame", type: "number", min: 1, max: count, value: 1, class: "frame-input",
      on: { change: () => {
        const frame = Math.round(Number(jump.value)) - 1;
        if (Number.isFinite(frame) && frame >= 0 && frame < count) void this.playback.seek(frame);
      } } });
    const zoom = h("div", { class: "zoom", role: "group", "aria-label": "Zoom" },
      h("button", { type: "button", "aria-label": "Zoom in (+)", on: { click: () => this.canvas.zoomBy(1.25) } }, "+"),
      h("button", { type: "button", "aria-label": "Zoom out (−)", on: { click: () => this.canvas.zoomBy(0.8) } }, "−"),
      h("button", { type: "button", "aria-label": "Fit the frame (0)", on: { click: () => this.canvas.fitToView() } }, "Fit"));
    const noteList = h("ul", { class: "review-comments", "aria-label": "Notes on frames" });
    const notes: Comment[] = [...pinned];
    const renderNotes = () => {
      replaceChildren(noteList, ...notes.map((c) => h("li", null,
        h("button", { type: "button", class: "chip note-frame", on: { click: () => void this.playback.seek(c.frame_index) } },
          `Frame ${c.frame_index + 1}: ${c.text}`))));
      this.timeline.setNotes(notes.map((c) => c.frame_index));
    };
    const noteText = h("input", { id: "review-note", type: "text", maxlength: 1000, placeholder: "What is wrong on this frame?" });
    const noteForm = h("form", { class: "note-form", on: { submit: async (e: Event) => {
      e.preventDefault();
      const text = noteText.value.trim();
      if (!text) return noteText.focus();
      try {
        notes.push(await masklets.comment(masklet.id, revision.id, this.playback.cursor, text));
        notes.sort((a, b) => a.frame_index - b.frame_index);
        noteText.value = "";
        renderNotes();
      } catch (error) {
        message.show(errorText(error));
      }
    } } },
      h("label", { for: "review-note" }, "Note on this frame"), noteText,
      h("button", { type: "submit" }, "Pin to frame"));
    const accept = h("button", { type: "button", class: "primary", on: { click: () => void decide("accept", "") } }, "Accept (a)");
    const reject = h("button", { type: "button", class: "danger", on: { click: () => {
      rejectForm.hidden = false;
      reason.focus();
    } } }, "Reject… (r)");

    this.element = h("div", { class: "review-view" },
      h("p", { class: "masklet-info" },
        `Masklet ${masklet.id}: `,
        h("span", { class: "swatch", style: `background:${masklet.label.color}`, title: `Label colour of “${masklet.label.name}”`, "aria-hidden": "true" }),
        h("strong", { class: "masklet-label" }, objectName(masklet.object_number, masklet.label)),
        ` of “${video.name}”, ${masklet.kind}, revision ${revision.number}`,
        revision.phase ? `, phase ${revision.phase}` : "", ` — present on ${presence.reduce((a, b) => a + b, 0)} of ${count} frames`),
      stage,
      h("div", { class: "player", role: "group", "aria-label": "Playback" },
        h("button", { type: "button", "aria-label": "Previous frame (←)", on: { click: () => void this.playback.step(-1) } }, "‹"),
        playButton,
        h("button", { type: "button", "aria-label": "Next frame (→)", on: { click: () => void this.playback.step(1) } }, "›"),
        h("label", { for: "review-speed" }, "Speed"), speed, position,
        h("label", { for: "review-frame" }, "Go to frame"), jump, zoom),
      this.timeline.element,
      noteForm, noteList,
      h("div", { class: "decision", role: "group", "aria-label": "Decision" }, accept, reject,
        h("button", { type: "button", title: "Give it back to the queue (s)", on: { click: () => void decide("skip", "") } }, "Skip")),
      rejectForm);
    this.removeShortcuts = installShortcuts([
      { keys: [" "], label: "Play / pause", run: () => this.playback.toggle() },
      { keys: ["ArrowRight"], label: "Next frame", run: () => void this.playback.step(1) },
      { keys: ["ArrowLeft"], label: "Previous frame", run: () => void this.playback.step(-1) },
      { keys: ["+", "="], label: "Zoom in", run: () => this.canvas.zoomBy(1.25) },
      { keys: ["-"], label: "Zoom out", run: () => this.canvas.zoomBy(0.8) },
      { keys: ["0"], label: "Fit the frame", run: () => this.canvas.fitToView() },
      { keys: ["a"], label: "Accept", run: () => void decide("accept", "") },
      { keys: ["r"], label: "Reject with a reason", run: () => reject.click() },
      { keys: ["s"], label: "Skip: give the masklet back to the queue", run: () => void decide("skip", "") },
    ], "Review");
    renderNotes();
    void this.playback.seek(0);
  }

  destroy(): void {
    this.removeShortcuts();
    this.playback.destroy();
    this.timeline.destroy();
    this.canvas.destroy();
  }
}
