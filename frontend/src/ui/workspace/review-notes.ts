/** A rework task's reason for being: the reviewer's reason, their notes pinned to frames, and the
 * frames these name, each a button that shows that frame. */
import type { ReviewFeedback } from "../../api/session";
import { h } from "../dom";

export function reviewNotes(feedback: ReviewFeedback, seek: (frame: number) => void) {
  const frameButton = (frame: number, text?: string) =>
    h("button", { type: "button", class: "chip note-frame", on: { click: () => seek(frame) } },
      text ? `Frame ${frame + 1}: ${text}` : `Frame ${frame + 1}`);
  const commented = new Set(feedback.comments.map((c) => c.frame_index));
  const element = h("section", { class: "review-notes", "aria-labelledby": "review-notes-title" },
    h("h2", { id: "review-notes-title" }, `Rejected by ${feedback.reviewer}`),
    h("p", { class: "review-reason" }, feedback.reason),
    feedback.comments.length
      ? h("ul", { class: "review-comments", "aria-label": "Reviewer's notes on frames" },
        ...feedback.comments.map((c) => h("li", null, frameButton(c.frame_index, c.text))))
      : null,
    feedback.frames.some((f) => !commented.has(f))
      ? h("p", { class: "named-frames" }, "Frames named: ",
        ...feedback.frames.filter((f) => !commented.has(f)).map((f) => frameButton(f)))
      : null);
  return { element };
}
