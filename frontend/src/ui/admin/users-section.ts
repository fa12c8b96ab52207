/**
 * Admin section: accounts. Create one with its roles, change a person's roles, deactivate or
 * reactivate an account (a deactivated one cannot log in; its API token is revoked). Searchable.
 */
import { users, type Role, type User } from "../../api/platform";
import type { AppContext } from "../app";
import { errorText, h, messageBox, replaceChildren } from "../dom";
import type { Section } from "./dashboard";
import { actionButton, field, options } from "./form-bits";

const ROLES: Role[] = ["annotator", "reviewer", "admin"];

function roleBoxes(prefix: string, held: readonly string[] = []): HTMLInputElement[] {
  return ROLES.map((role) => h("input", { type: "checkbox", value: role, checked: held.includes(role), "aria-label": `${prefix} ${role}` }));
}

export function usersSection(ctx?: AppContext): Section {
  const me = ctx?.me;
  const message = messageBox();
  const tbody = h("tbody");
  const note = h("p", { class: "muted" });
  const search = h("input", { type: "search", maxlength: 150, placeholder: "username or email" });
  const shown = h("select", null, ...options(["active", "deactivated", "all"]));
  search.addEventListener("input", () => void load());
  shown.addEventListener("change", () => void load());

  const username = h("input", { required: true, maxlength: 150, autocomplete: "off" });
  const email = h("input", { type: "email", maxlength: 254, autocomplete: "off" });
  const password = h("input", { type: "password", minlength: 8, maxlength: 4096, required: true, autocomplete: "new-password" });
  const newRoles = roleBoxes("New account is");
  const create = h("form", { class: "row wrap", "aria-label": "New account", on: { submit: async (event) => {
    event.preventDefault();
    message.clear();
    try {
      const made = await users.create({ username: username.value.trim(), email: email.value.trim(), password: password.value,
        roles: newRoles.filter((b) => b.checked).map((b) => b.value as Role) });
      message.show(`Account “${made.username}” created (${made.roles.join(", ") || "no role"}).`, "info");
      username.value = email.value = password.value = "";
      void load();
    } catch (error) {
      message.show(errorText(error));
    }
  } } },
    field("Username", username), field("Email", email), field("Password", password),
    h("fieldset", { class: "inline" }, h("legend", null, "Roles"), ...newRoles.flatMap((b) => [h("label", null, b, ` ${b.value}`)])),
    h("button", { type: "submit", class: "primary" }, "Create account"));

  function row(u: User): HTMLElement {
    const boxes = roleBoxes(`${u.username} is`, u.roles as string[]);
    const fail = (text: string) => message.show(text);
    const save = actionButton("Save roles", async () => {
      const changed = await users.update(u.id, { roles: boxes.filter((b) => b.checked).map((b) => b.value as Role) });
      message.show(`${changed.username}: ${changed.roles.join(", ") || "no role"}.`, "info");
      void load();
    }, fail, { "aria-label": `Save roles of ${u.username}` });
    const self = me?.id === u.id;
    const toggle = actionButton(u.is_active ? "Deactivate" : "Reactivate", async () => {
      if (u.is_active && !window.confirm(`Deactivate ${u.username}? They can no longer log in.`)) return;
      const changed = await users.update(u.id, { is_active: !u.is_active });
      message.show(`${changed.username} is ${changed.is_active ? "active again" : "deactivated"}.`, "info");
      void load();
    }, fail, { "aria-label": `${u.is_active ? "Deactivate" : "Reactivate"} ${u.username}`, class: u.is_active ? "danger" : "", disabled: self });
    return h("tr", { dataset: { userId: String(u.id), active: String(u.is_active) } },
      h("td", null, u.username, self ? h("span", { class: "muted" }, " (you)") : ""),
      h("td", null, u.email || "—"),
      h("td", null, h("span", { class: "row" }, ...boxes.flatMap((b) => [h("label", null, b, ` ${b.value}`)]), save)),
      h("td", null, u.is_active ? "active" : h("span", { class: "status status-failed" }, "deactivated")),
      h("td", null, u.last_login ? new Date(u.last_login).toLocaleString() : "never"),
      h("td", null, toggle));
  }

  async function load() {
    try {
      const page = await users.list({ search: search.value || undefined, page_size: 200,
        is_active: shown.value === "all" ? undefined : shown.value === "active" });
      replaceChildren(tbody, ...page.results.map(row));
      if (!page.results.length) tbody.append(h("tr", null, h("td", { colspan: 6, class: "muted" }, "No account matches.")));
      note.textContent = page.count > page.results.length ? `The first ${page.results.length} of ${page.count}; search to narrow.` : `${page.count} accounts.`;
    } catch (error) {
      note.textContent = `Accounts could not be loaded: ${errorText(error)}`;
    }
  }
  void load();

  const element = h("section", { class: "card", "aria-labelledby": "users-title" },
    h("h2", { id: "users-title" }, "Users"), create, message.element,
    h("div", { class: "row wrap" }, field("Find", search), field("Show", shown)), note,
    h("div", { class: "table-wrap" }, h("table", { class: "data" },
      h("thead", null, h("tr", null, ...["Username", "Email", "Roles", "Account", "Last login", ""].map((c) => h("th", { scope: "col" }, c)))),
      tbody)));
  return { title: "Users", element };
}
