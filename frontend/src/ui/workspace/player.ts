/** Playback controls: first, step back, play/pause, step forward, last, jump to a frame. */
import { h } from "../dom";

export function playerControls(count: number, handlers: { seek: (frame: number) => void; step: (delta: number) => void; toggle: () => void }) {
  const play = h("button", { type: "button", "aria-label": "Play (Space)", on: { click: handlers.toggle } }, "▶");
  const jump = h("input", { id: "jump-frame", type: "number", min: 1, max: count, value: "1", class: "frame-input",
    on: { change: () => handlers.seek(Math.min(count, Math.max(1, Number(jump.value) || 1)) - 1) } });
  const position = h("span", { class: "frame-position", "aria-live": "off" });
  const element = h("div", { class: "player", role: "group", "aria-label": "Playback" },
    h("button", { type: "button", "aria-label": "First frame (Home)", on: { click: () => handlers.seek(0) } }, "«"),
    h("button", { type: "button", "aria-label": "Previous frame (←)", on: { click: () => handlers.step(-1) } }, "‹"),
    play,
    h("button", { type: "button", "aria-label": "Next frame (→)", on: { click: () => handlers.step(1) } }, "›"),
    h("button", { type: "button", "aria-label": "Last frame (End)", on: { click: () => handlers.seek(count - 1) } }, "»"),
    h("label", { for: "jump-frame" }, "Frame"), jump, position);
  return {
    element,
    update(frame: number, playing: boolean) {
      play.textContent = playing ? "||" : "▶";
      play.setAttribute("aria-label", playing ? "Pause (Space)" : "Play (Space)");
      if (document.activeElement !== jump) jump.value = String(frame + 1);
      position.textContent = `of ${count}`;
    },
  };
}
