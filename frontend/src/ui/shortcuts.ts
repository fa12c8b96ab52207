/** Keyboard shortcuts: one table, the same one the help overlay (`?`) shows. */
import { h } from "./dom";

export interface Shortcut {
  keys: string[]; // KeyboardEvent.key values
  label: string;
  run: (event: KeyboardEvent) => void;
  enabled?: () => boolean;
}

/** Input types that take no typed text: a shortcut pressed on one (a ticked checkbox) still works. */
const NOT_TYPED = new Set(["checkbox", "radio", "button", "submit", "reset", "color", "file"]);

function typingInField(event: KeyboardEvent): boolean {
  const target = event.target as HTMLElement | null;
  if (!target) return false;
  if (target instanceof HTMLInputElement) return !NOT_TYPED.has(target.type);
  return target.isContentEditable || ["TEXTAREA", "SELECT"].includes(target.tagName);
}

export function displayKey(key: string): string {
  return ({ " ": "Space", ArrowLeft: "←", ArrowRight: "→", ArrowUp: "↑", ArrowDown: "↓" } as Record<string, string>)[key] ?? key;
}

/** Installs the shortcuts on `window`; returns the function that removes them. */
export function installShortcuts(shortcuts: Shortcut[], title: string): () => void {
  let overlay: HTMLElement | null = null;
  const close = () => {
    overlay?.remove();
    overlay = null;
  };
  const open = () => {
    const rows = shortcuts.map((s) => h("tr", null, h("td", null, ...s.keys.map((k) => h("kbd", null, displayKey(k)))), h("td", null, s.label)));
    const closeButton = h("button", { type: "button", on: { click: close } }, "Close");
    overlay = h("div", { class: "help-overlay", role: "dialog", "aria-modal": "true", "aria-label": `${title}: keyboard shortcuts` },
      h("div", { class: "help-panel" },
        h("h2", null, "Keyboard shortcuts"),
        h("table", null, h("tbody", null, ...rows, h("tr", null, h("td", null, h("kbd", null, "?")), h("td", null, "This help")))),
        closeButton));
    document.body.append(overlay);
    closeButton.focus();
  };
  const onKey = (event: KeyboardEvent) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typingInField(event)) return;
    if (overlay) {
      if (event.key === "Escape" || event.key === "?") {
        close();
        event.preventDefault();
      }
      return;
    }
    if (event.key === "?") {
      open();
      event.preventDefault();
      return;
    }
    const match = shortcuts.find((s) => s.keys.includes(event.key) && (s.enabled?.() ?? true));
    if (match) {
      event.preventDefault();
      match.run(event);
    }
  };
  window.addEventListener("keydown", onKey);
  return () => {
    window.removeEventListener("keydown", onKey);
    close();
  };
}
