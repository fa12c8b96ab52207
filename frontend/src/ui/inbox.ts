/** The annotator's inbox: take the next task from the queue and open the workspace on it. */
import { tasks } from "../api/queue";
import type { AppContext } from "./app";
import { errorText, h, messageBox, type Screen } from "./dom";

export function inboxScreen(ctx: AppContext): Screen {
  const message = messageBox();
  const phase = h("select", { id: "inbox-phase" },
    h("option", { value: "" }, "Any phase"),
    h("option", { value: "1" }, "Phase 1: SAM per frame"),
    h("option", { value: "2" }, "Phase 2: SAM + SAM 2 Mask"),
    h("option", { value: "3" }, "Phase 3: SAM 2"));
  const next = h("button", { type: "button", class: "primary", on: { click: async () => {
    message.clear();
    next.disabled = true;
    try {
      const task = await tasks.next(phase.value ? (Number(phase.value) as 1 | 2 | 3) : undefined);
      if (!task) message.show("The queue is empty: no task is waiting for you. Try again later.", "info");
      else ctx.navigate(`/app/annotate/tasks/${task.id}`);
    } catch (error) {
      message.show(errorText(error));
    } finally {
      next.disabled = false;
    }
  } } }, "Start next task");
  return {
    element: h("section", { class: "panel" },
      h("h1", null, "Annotation queue"),
      h("p", null, "Take the next video from the queue: segment each object on any frame, let the model propagate, fix the frames it got wrong, and submit."),
      h("div", { class: "row" }, h("label", { for: "inbox-phase" }, "Phase"), phase, next),
      message.element),
  };
}
