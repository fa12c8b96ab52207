/** A tiny DOM builder: small components are functions that return elements. */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, unknown> & { on?: Partial<{ [K in keyof HTMLElementEventMap]: (e: HTMLElementEventMap[K]) => void }> };

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "on") {
        for (const [name, handler] of Object.entries(value as object)) el.addEventListener(name, handler as EventListener);
      } else if (key === "class") {
        el.className = String(value);
      } else if (key === "dataset") {
        Object.assign(el.dataset, value);
      } else if (value === true) {
        el.setAttribute(key, "");
      } else if (value !== false && value !== undefined && value !== null) {
        if (key in el && !key.includes("-") && key !== "list") (el as unknown as Record<string, unknown>)[key] = value;
        else el.setAttribute(key, String(value));
      }
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

const SVG = "http://www.w3.org/2000/svg";
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: (SVGElement | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child);
  return el;
}

/** A status line for errors and notices (announced to screen readers). */
export function messageBox(): { element: HTMLElement; show: (text: string, kind?: "error" | "info") => void; clear: () => void } {
  const element = h("p", { class: "message", role: "status", hidden: true });
  return {
    element,
    show(text, kind = "error") {
      element.textContent = text;
      element.className = `message ${kind}`;
      element.hidden = false;
      element.setAttribute("role", kind === "error" ? "alert" : "status");
    },
    clear() {
      element.hidden = true;
      element.textContent = "";
    },
  };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A screen: mounted into the main area; `unmount` stops its timers and listeners and gives back
 * what the screen holds on the server (its promise settles once it has: logging out waits for it).
 */
export interface Screen {
  element: HTMLElement;
  unmount?: () => void | Promise<void>;
}
