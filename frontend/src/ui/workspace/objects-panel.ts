/** The task's objects: colour, select, add, remove. */
import { cssColor, type Rgb } from "../../canvas/overlay";
import { h, replaceChildren } from "../dom";

export interface PanelObject {
  objectNumber: number;
  color: Rgb;
}

export function objectsPanel(handlers: { select: (n: number) => void; add: () => void; remove: (n: number) => void }) {
  const list = h("ul", { class: "objects", "aria-label": "Objects" });
  const add = h("button", { type: "button", on: { click: handlers.add }, title: "Add an object (a)" }, "+ Add object");
  const element = h("section", { class: "side-panel", "aria-labelledby": "objects-title" },
    h("h2", { id: "objects-title" }, "Objects"), list, add);
  return {
    element,
    render(objects: PanelObject[], selected: number | null, busy = false) {
      add.disabled = busy;
      replaceChildren(list, ...objects.map((o) =>
        h("li", { class: o.objectNumber === selected ? "selected" : "" },
          h("button", { type: "button", class: "object-select", "aria-pressed": String(o.objectNumber === selected),
            on: { click: () => handlers.select(o.objectNumber) } },
            h("span", { class: "swatch", style: `background:${cssColor(o.color)}`, "aria-hidden": "true" }),
            `Object ${o.objectNumber}`),
          h("button", { type: "button", class: "icon", disabled: busy, "aria-label": `Remove object ${o.objectNumber}`,
            on: { click: () => handlers.remove(o.objectNumber) } }, "✕"))));
      if (!objects.length) list.append(h("li", { class: "hint" }, "No object yet: add one, then click on it in the frame."));
    },
  };
}
