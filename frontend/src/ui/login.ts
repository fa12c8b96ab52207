/** Login: session auth with the CSRF cookie (fetched first), then the user's home screen. */
import { auth, type Me } from "../api/platform";
import { errorText, h, messageBox, type Screen } from "./dom";

export function loginScreen(onLogin: (me: Me) => void): Screen {
  const username = h("input", { id: "login-username", name: "username", autocomplete: "username", required: true });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Log in");
  const message = messageBox();
  const form = h("form", { class: "login-form", "aria-labelledby": "login-title", on: { submit: async (event) => {
    event.preventDefault();
    message.clear();
    submit.disabled = true;
    try {
      await auth.csrf();
      onLogin(await auth.login({ username: username.value.trim(), password: password.value }));
    } catch (error) {
      message.show(errorText(error));
      password.select();
    } finally {
      submit.disabled = false;
    }
  } } },
    h("h1", { id: "login-title" }, "Log in to Masklet"),
    h("label", { for: "login-username" }, "Username"), username,
    h("label", { for: "login-password" }, "Password"), password,
    message.element,
    submit);
  queueMicrotask(() => username.focus());
  return { element: h("section", { class: "panel narrow" }, form) };
}
