/** The task's tools (its phase's only), as toggle buttons with their shortcut keys. */
import { TOOL_LABELS, type ToolMode } from "../../canvas/tools";
import { h } from "../dom";

export const TOOL_KEYS: Record<ToolMode, string> = {
  "click-positive": "p",
  "click-negative": "n",
  box: "b",
  brush: "r",
  eraser: "e",
  pan: "h",
};

export function toolbar(tools: readonly ToolMode[], onPick: (mode: ToolMode) => void) {
  const buttons = new Map<ToolMode, HTMLButtonElement>();
  const element = h("div", { class: "toolbar", role: "toolbar", "aria-label": "Tools" },
    ...tools.map((mode) => {
      const button = h("button", { type: "button", class: `tool tool-${mode}`, "aria-pressed": "false",
        title: `${TOOL_LABELS[mode]} (${TOOL_KEYS[mode]})`, "aria-keyshortcuts": TOOL_KEYS[mode], on: { click: () => onPick(mode) } },
        // The key is announced as a shortcut, not read into the name ("Positive click", not "Positive clickp").
        TOOL_LABELS[mode], h("kbd", { "aria-hidden": "true" }, TOOL_KEYS[mode]));
      buttons.set(mode, button);
      return button;
    }));
  return {
    element,
    setActive(mode: ToolMode) {
      for (const [m, button] of buttons) button.setAttribute("aria-pressed", String(m === mode));
    },
  };
}
