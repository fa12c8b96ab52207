/** How the masks are drawn: the overlay's opacity, and the colour of the selected object. */
import { cssColor, type Rgb } from "../../canvas/overlay";
import { h } from "../dom";

const hex = ([r, g, b]: Rgb) => `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;

export function viewControls(handlers: { opacity: (value: number) => void; color: (color: Rgb) => void }) {
  const opacity = h("input", { id: "overlay-opacity", type: "range", min: 0, max: 100, value: 100,
    on: { input: () => handlers.opacity(Number(opacity.value) / 100) } });
  const color = h("input", { id: "object-color", type: "color", value: "#1e88e5", on: { input: () => {
    const n = parseInt(color.value.slice(1), 16);
    handlers.color([(n >> 16) & 255, (n >> 8) & 255, n & 255]);
  } } });
  const element = h("section", { class: "side-panel view-controls", "aria-label": "View" },
    h("label", { for: "overlay-opacity" }, "Overlay opacity"), opacity,
    h("label", { for: "object-color" }, "Colour of the selected object"), color);
  return {
    element,
    setColor(rgb: Rgb | null) {
      color.disabled = rgb === null;
      if (rgb) {
        color.value = hex(rgb);
        color.title = cssColor(rgb);
      }
    },
  };
}
