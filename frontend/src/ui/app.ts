/**
 * The app shell: who is logged in, the header with the screens their roles open, and a small
 * history router (/app/login, /app/annotate, /app/annotate/tasks/:id, /app/review, /app/admin).
 */
import { ApiError } from "../api/client";
import { auth, type Me, type Role } from "../api/platform";
import { h, replaceChildren, type Screen } from "./dom";

export interface AppContext {
  me: Me;
  navigate: (path: string) => void;
}

type ScreenFactory = (ctx: AppContext, params: Record<string, string>) => Screen | Promise<Screen>;

interface Route {
  pattern: RegExp;
  keys: string[];
  role?: Role;
  title: string;
  load: () => Promise<ScreenFactory>;
}

const route = (path: string, title: string, load: Route["load"], role?: Role): Route => {
  const keys: string[] = [];
  const pattern = new RegExp("^" + path.replace(/:(\w+)/g, (_m, key) => (keys.push(key), "(\\d+)")) + "/?$");
  return { pattern, keys, role, title, load };
};

// Screens load on demand: an annotator never downloads the admin dashboard.
const ROUTES: Route[] = [
  route("/app/annotate", "Annotate", async () => (await import("./inbox")).inboxScreen, "annotator"),
  route("/app/annotate/tasks/:taskId", "Workspace", async () => (await import("./workspace/workspace")).workspaceScreen, "annotator"),
  route("/app/review", "Review", async () => (await import("./review")).reviewScreen, "reviewer"),
  route("/app/admin", "Admin", async () => (await import("./admin/dashboard")).dashboardScreen, "admin"),
];

const NAV: { path: string; label: string; role: Role }[] = [
  { path: "/app/annotate", label: "Annotate", role: "annotator" },
  { path: "/app/review", label: "Review", role: "reviewer" },
  { path: "/app/admin", label: "Admin", role: "admin" },
];

export function holds(me: Me, role: Role): boolean {
  const roles = me.roles as string[];
  return roles.includes("admin") || roles.includes(role);
}

export function homeFor(me: Me): string {
  const roles = me.roles as string[];
  if (roles.includes("admin")) return "/app/admin";
  if (roles.includes("reviewer")) return "/app/review";
  if (roles.includes("annotator")) return "/app/annotate";
  return "/app/no-role";
}

export class App {
  private me: Me | null = null;
  private current: Screen | null = null;
  private renderedPath = "";
  private main = h("main", { id: "main", tabindex: -1 });
  private header = h("header", { class: "app-header" });

  constructor(root: HTMLElement) {
    replaceChildren(root, h("a", { class: "skip-link", href: "#main" }, "Skip to content"), this.header, this.main);
    // A change of the hash only (the admin's sections) is the screen's to follow, not a new screen.
    window.addEventListener("popstate", () => {
      if (location.pathname !== this.renderedPath) void this.render();
    });
    document.addEventListener("click", (event) => {
      const link = (event.target as HTMLElement).closest?.("a[data-link]") as HTMLAnchorElement | null;
      if (link && !event.ctrlKey && !event.metaKey && event.button === 0) {
        event.preventDefault();
        this.navigate(link.getAttribute("href")!);
      }
    });
  }

  async start(): Promise<void> {
    try {
      this.me = await auth.me();
    } catch (error) {
      if (!(error instanceof ApiError && (error.status === 401 || error.status === 403))) throw error;
      this.me = null;
    }
    await this.render();
  }

  navigate = (path: string): void => {
    if (location.pathname !== path) history.pushState(null, "", path);
    void this.render();
  };

  private async render(): Promise<void> {
    this.current?.unmount?.();
    this.current = null;
    const path = location.pathname;
    this.renderedPath = path;
    if (!this.me) {
      if (path !== "/app/login") history.replaceState(null, "", "/app/login?next=" + encodeURIComponent(path));
      const { loginScreen } = await import("./login");
      this.renderHeader(null);
      return this.mount(loginScreen((me) => {
        this.me = me;
        const next = new URLSearchParams(location.search).get("next");
        this.navigate(next && next.startsWith("/app/") && next !== "/app/login" ? next : homeFor(me));
      }), "Log in");
    }
    this.renderHeader(this.me);
    if (path === "/" || path === "/app" || path === "/app/" || path === "/app/login") {
      history.replaceState(null, "", homeFor(this.me));
      return this.render();
    }
    for (const r of ROUTES) {
      const match = r.pattern.exec(path);
      if (!match) continue;
      if (r.role && !holds(this.me, r.role)) {
        return this.mount({ element: h("section", { class: "panel" }, h("h1", null, "Not for your role"),
          h("p", null, `This screen needs the ${r.role} role.`)) }, "Not allowed");
      }
      const params = Object.fromEntries(r.keys.map((key, i) => [key, match[i + 1]]));
      const factory = await r.load();
      return this.mount(await factory({ me: this.me, navigate: this.navigate }, params), r.title);
    }
    const noRole = (this.me.roles as string[]).length === 0;
    this.mount({ element: h("section", { class: "panel" }, h("h1", null, noRole ? "No role yet" : "Page not found"),
      h("p", null, noRole ? "Your account has no role on this platform yet; ask an admin to give you one." : "There is nothing at this address.")) }, "Masklet");
  }

  private mount(screen: Screen, title: string): void {
    this.current = screen;
    document.title = `${title} · Masklet`;
    replaceChildren(this.main, screen.element);
  }

  private renderHeader(me: Me | null): void {
    if (!me) {
      replaceChildren(this.header, h("span", { class: "brand" }, "Masklet"));
      return;
    }
    const links = NAV.filter((n) => holds(me, n.role)).map((n) =>
      h("a", { href: n.path, "data-link": true, class: location.pathname.startsWith(n.path) ? "active" : "",
        "aria-current": location.pathname.startsWith(n.path) ? "page" : false }, n.label));
    const logout = h("button", { type: "button", class: "link", on: { click: async () => {
      const leaving = this.current?.unmount?.(); // while the session still lets the screen give back its lease
      this.current = null;
      await leaving;
      await auth.logout().catch(() => undefined);
      this.me = null;
      this.navigate("/app/login");
    } } }, "Log out");
    replaceChildren(this.header,
      h("span", { class: "brand" }, "Masklet"),
      h("nav", { "aria-label": "Screens" }, ...links),
      h("span", { class: "who" }, `${me.username} (${(me.roles as string[]).join(", ") || "no role"})`),
      logout);
  }
}
