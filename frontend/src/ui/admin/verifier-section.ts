/** Admin section: the masklet verifier (its versions with held-out precision, recall and AUC, training,
 * the automatic-decision policy, the audits that measure it, and why it is off when it is). */
import { h } from "../dom";
import type { Section } from "./dashboard";
import { verifierPanel } from "./verifier-panel";

export function verifierSection(): Section {
  return { title: "Verifier", element: h("div", { class: "section-body" }, verifierPanel().element) };
}
