/** The task's objects: colour, name (number and label), select, change the label, add (with a label), remove. */
import { objectName, type LabelRef } from "../../api/labels";
import { cssColor, type Rgb } from "../../canvas/overlay";
import { h, replaceChildren } from "../dom";

export interface PanelObject {
  objectNumber: number;
  color: Rgb;
  label: LabelRef;
}

export function objectsPanel(labels: LabelRef[], handlers: {
  select: (n: number) => void;
  add: (labelId: number) => void;
  remove: (n: number) => void;
  relabel: (n: number, labelId: number) => void;
}) {
  const options = (selected: number) => labels.map((l) =>
    h("option", { value: String(l.id), selected: l.id === selected }, l.name));
  const list = h("ul", { class: "objects", "aria-label": "Objects" });
  const newLabel = h("select", { id: "new-object-label", "aria-label": "Label of the new object" }, ...options(labels[0]?.id ?? 0));
  const add = h("button", { type: "button", on: { click: () => handlers.add(Number(newLabel.value)) }, title: "Add an object (a)" },
    "+ Add object");
  const element = h("section", { class: "side-panel", "aria-labelledby": "objects-title" },
    h("h2", { id: "objects-title" }, "Objects"), list,
    h("div", { class: "row" }, h("label", { for: "new-object-label" }, "Label"), newLabel), add);
  return {
    element,
    /** The label chosen for the next object. */
    get newLabel(): number {
      return Number(newLabel.value);
    },
    render(objects: PanelObject[], selected: number | null, busy = false) {
      add.disabled = busy;
      replaceChildren(list, ...objects.map((o) => {
        const name = objectName(o.objectNumber, o.label);
        const relabel = h("select", { class: "object-label", disabled: busy, "aria-label": `Label of object ${o.objectNumber}`,
          on: { change: (e) => handlers.relabel(o.objectNumber, Number((e.currentTarget as HTMLSelectElement).value)) } },
          ...options(o.label.id));
        return h("li", { class: o.objectNumber === selected ? "selected" : "" },
          h("button", { type: "button", class: "object-select", "aria-pressed": String(o.objectNumber === selected),
            on: { click: () => handlers.select(o.objectNumber) } },
            h("span", { class: "swatch", style: `background:${cssColor(o.color)}`, "aria-hidden": "true" }), name),
          relabel,
          h("button", { type: "button", class: "icon", disabled: busy, "aria-label": `Remove ${name}`,
            on: { click: () => handlers.remove(o.objectNumber) } }, "✕"));
      }));
      if (!objects.length) list.append(h("li", { class: "hint" }, "No object yet: choose its label, add it, then click on it in the frame."));
    },
  };
}
