/** Small form pieces the admin sections share: labelled fields, selects of projects, a button that runs once. */
import { projects, type Project } from "../../api/platform";
import { errorText, h, replaceChildren } from "../dom";

let uid = 0;

/** A label and its control, side by side (the control gets an id when it has none). */
export function field(label: string, control: HTMLElement): HTMLElement {
  if (!control.id) control.id = `f-${++uid}`;
  return h("span", { class: "field" }, h("label", { for: control.id }, label), control);
}

export function options(values: readonly (string | number)[], labels?: (value: string | number) => string): HTMLOptionElement[] {
  return values.map((v) => h("option", { value: String(v) }, labels ? labels(v) : String(v)));
}

/** A select of the projects (``blank``: a first option for "any"), filled once loaded. */
export function projectSelect(blank?: string, onLoaded?: (list: Project[]) => void): HTMLSelectElement {
  const select = h("select");
  projects.list().then((page) => {
    const list = page.results as Project[];
    replaceChildren(select, ...(blank !== undefined ? [h("option", { value: "" }, blank)] : []),
      ...list.map((p) => h("option", { value: String(p.id) }, p.name)));
    onLoaded?.(list);
  }).catch((error) => replaceChildren(select, h("option", { value: "" }, `Projects could not be loaded: ${errorText(error)}`)));
  return select;
}

/** A button that disables itself while its action runs; errors go to ``onError``. */
export function actionButton(label: string, run: () => Promise<unknown>, onError: (text: string) => void,
  attrs: Record<string, unknown> = {}): HTMLButtonElement {
  return h("button", { type: "button", ...attrs, on: { click: async (event) => {
    const button = event.currentTarget as HTMLButtonElement;
    button.disabled = true;
    try {
      await run();
    } catch (error) {
      onError(errorText(error));
    } finally {
      button.disabled = false;
    }
  } } }, label);
}

export const SPLITS = ["unassigned", "train", "val", "test"] as const;
export type Split = (typeof SPLITS)[number];
