/** Register a model checkpoint (an official SAM 2 / 2.1 .pt or our .safetensors): upload progress,
 * then the check's outcome: ready, or failed with the reason. */
import { followJob } from "../../api/platform";
import { modelVersions } from "../../api/queue";
import { errorText, h, messageBox } from "../dom";

export function modelRegisterForm(onChange: () => void) {
  const name = h("input", { id: "model-name", type: "text", required: true, maxlength: "200", placeholder: "sam2.1-large" });
  const config = h("input", { id: "model-config", type: "text", maxlength: "64", placeholder: "inferred from the file" });
  const file = h("input", { id: "model-file", type: "file", accept: ".pt,.safetensors", required: true });
  const bar = h("progress", { max: 100, value: 0, "aria-label": "Checkpoint transfer" });
  const label = h("span", { class: "progress-label", id: "model-register-status" });
  const progress = h("div", { class: "upload-progress", hidden: true }, h("div", null, "Upload ", bar, label));
  const message = messageBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Register");
  const form = h("form", { class: "upload-form", "aria-label": "Register a checkpoint", on: { submit: (e) => {
    e.preventDefault();
    void run();
  } } },
    h("label", { for: "model-name" }, "Name"), name,
    h("label", { for: "model-config" }, "Config"), config,
    h("label", { for: "model-file" }, "Checkpoint"), file, submit);
  // A disclosure button (not <details>/<summary>, whose summary has no accessible role and name).
  const body = h("div", { id: "model-register-body", hidden: true }, form, progress, message.element);
  const toggle = h("button", { type: "button", "aria-expanded": "false", "aria-controls": "model-register-body",
    on: { click: () => {
      body.hidden = !body.hidden;
      toggle.setAttribute("aria-expanded", String(!body.hidden));
    } } }, "Register a checkpoint");
  const element = h("div", { class: "model-register" }, toggle, body);

  async function run() {
    const chosen = file.files?.[0];
    if (!chosen || !name.value.trim()) return;
    message.clear();
    submit.disabled = true;
    progress.hidden = false;
    bar.value = 0;
    try {
      const created = await modelVersions.register(name.value.trim(), chosen, config.value.trim(), (loaded, total) => {
        bar.value = total ? (100 * loaded) / total : 0;
        label.textContent = ` ${(loaded / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`;
      });
      bar.value = 100;
      label.textContent = " checking the checkpoint…";
      onChange();
      const job = await followJob(created.job);
      label.textContent = ` ${job.status}`;
      if (job.status === "succeeded") message.show(`“${created.model_version.name}” is ready; promote it to use it.`, "info");
      else message.show(`“${created.model_version.name}” was refused: ${job.message || job.status}`);
      onChange();
    } catch (error) {
      message.show(errorText(error));
    } finally {
      submit.disabled = false;
    }
  }

  return { element };
}
