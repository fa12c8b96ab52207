/** The masklet verifier (admins): each version with precision, recall and AUC on held-out decisions,
 * a Train button (a Job), the policy of automatic decisions (off by default; target precision,
 * auto-reject, audit share, human decisions needed first), the thresholds it gives, what the audits
 * measured, and why no automatic decision is made when none is. */
import { followJob } from "../../api/platform";
import { verifier, type VerifierState } from "../../api/verifier";
import { errorText, h, messageBox, replaceChildren } from "../dom";

const pct = (value: number | null | undefined) => (value == null ? "–" : `${(100 * value).toFixed(1)} %`);
const num = (value: unknown) => (typeof value === "number" ? value.toFixed(3) : "–");

export function verifierPanel() {
  const message = messageBox();
  const status = h("p", { id: "verifier-status", role: "status" });
  const versions = h("tbody");
  const enabled = h("input", { id: "verifier-enabled", type: "checkbox" });
  const target = h("input", { id: "verifier-target", type: "number", min: "51", max: "100", step: "0.5" });
  const autoReject = h("input", { id: "verifier-auto-reject", type: "checkbox" });
  const auditRate = h("input", { id: "verifier-audit-rate", type: "number", min: "0", max: "100", step: "1" });
  const minDecisions = h("input", { id: "verifier-min-decisions", type: "number", min: "20", step: "1" });
  const save = h("button", { type: "submit" }, "Save policy");
  const train = h("button", { type: "button", class: "primary", on: { click: () => void runTraining() } }, "Train a new version");
  const form = h("form", { class: "upload-form", "aria-label": "Automatic decisions", on: { submit: (e) => {
    e.preventDefault();
    void savePolicy();
  } } },
    h("label", { for: "verifier-enabled" }, "Automatic decisions"), enabled,
    h("label", { for: "verifier-target" }, "Target precision (%)"), target,
    h("label", { for: "verifier-auto-reject" }, "Also reject automatically"), autoReject,
    h("label", { for: "verifier-audit-rate" }, "Audited share (%)"), auditRate,
    h("label", { for: "verifier-min-decisions" }, "Human decisions first"), minDecisions, save);
  const element = h("section", { class: "panel", "aria-labelledby": "verifier-title" },
    h("h2", { id: "verifier-title" }, "Masklet verifier"), status, train,
    h("table", { "aria-label": "Verifier versions" },
      h("thead", null, h("tr", null, h("th", null, "Version"), h("th", null, "Decisions"), h("th", null, "Precision"),
        h("th", null, "Recall"), h("th", null, "AUC"), h("th", null, "Active"))), versions),
    form, message.element);

  function show(state: VerifierState) {
    const p = state.policy;
    enabled.checked = p.enabled ?? false;
    target.value = String(100 * (p.target_precision ?? 0.98));
    autoReject.checked = p.auto_reject ?? false;
    auditRate.value = String(Math.round(100 * (p.audit_rate ?? 0.1)));
    minDecisions.value = String(p.min_decisions ?? 200);
    const t = state.thresholds;
    const a = state.audits;
    status.textContent = [
      state.blocked_reason || "Automatic decisions are on.",
      t ? `Auto-accept at score ≥ ${num(t.accept)}${p.auto_reject ? `, auto-reject at ≤ ${num(t.reject)}` : ""}.` : "",
      `Audits: accepts ${a.accept.confirmed}/${a.accept.audited} (${pct(a.accept.precision)}), ` +
        `rejects ${a.reject.confirmed}/${a.reject.audited} (${pct(a.reject.precision)}).`,
    ].filter(Boolean).join(" ");
    replaceChildren(versions, ...state.versions.map((v) => {
      const m = v.metrics as Record<string, number | null>;
      return h("tr", null, h("td", null, `v${v.number}`), h("td", null, String(v.decisions)), h("td", null, pct(m.precision)),
        h("td", null, pct(m.recall)), h("td", null, num(m.auc)), h("td", null, v.is_active ? "yes" : ""));
    }));
  }

  async function load() {
    try {
      show(await verifier.state());
    } catch (error) {
      message.show(errorText(error));
    }
  }

  async function savePolicy() {
    message.clear();
    try {
      show(await verifier.update({ enabled: enabled.checked, target_precision: Number(target.value) / 100,
        auto_reject: autoReject.checked, audit_rate: Number(auditRate.value) / 100, min_decisions: Number(minDecisions.value) }));
      message.show("Policy saved.", "info");
    } catch (error) {
      message.show(errorText(error));
    }
  }

  async function runTraining() {
    message.clear();
    train.disabled = true;
    try {
      const job = await followJob(await verifier.train());
      if (job.status === "succeeded") message.show("A new verifier version is active.", "info");
      else message.show(`Training failed: ${job.message || job.status}`);
      await load();
    } catch (error) {
      message.show(errorText(error));
    } finally {
      train.disabled = false;
    }
  }

  void load();
  return { element, reload: load };
}
