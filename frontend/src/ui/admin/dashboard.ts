/**
 * The admin screen: a side navigation of sections, one module each, routed by the URL's hash
 * (/app/admin#videos), so a section is a link to share and the back button walks the sections.
 * A section loads on first visit and is rebuilt on each (its figures fresh); leaving it stops
 * its timers.
 */
import type { AppContext } from "../app";
import { errorText, h, replaceChildren, type Screen } from "../dom";

export interface Section extends Screen {
  title: string;
}

interface SectionEntry {
  id: string;
  label: string;
  load: () => Promise<(ctx: AppContext) => Section>;
}

export const SECTIONS: SectionEntry[] = [
  { id: "metrics", label: "Metrics", load: async () => (await import("./metrics-section")).metricsSection },
  { id: "projects", label: "Projects", load: async () => (await import("./projects-section")).projectsSection },
  { id: "videos", label: "Videos", load: async () => (await import("./videos-section")).videosSection },
  { id: "tasks", label: "Tasks", load: async () => (await import("./tasks-section")).tasksSection },
  { id: "auto-masklets", label: "Automatic masklets", load: async () => (await import("./automasklets-section")).autoMaskletsSection },
  { id: "exchange", label: "Exports & imports", load: async () => (await import("./exchange-section")).exchangeSection },
  { id: "models", label: "Retraining & models", load: async () => (await import("./models-section")).modelsSection },
  { id: "verifier", label: "Verifier", load: async () => (await import("./verifier-section")).verifierSection },
  { id: "users", label: "Users", load: async () => (await import("./users-section")).usersSection },
  { id: "jobs", label: "Jobs", load: async () => (await import("./jobs-section")).jobsSection },
];

/** The section a hash names; the first (metrics) for an empty or unknown one. */
export function sectionFor(hash: string): SectionEntry {
  const id = hash.replace(/^#\/?/, "");
  return SECTIONS.find((s) => s.id === id) ?? SECTIONS[0];
}

export function dashboardScreen(ctx: AppContext): Screen {
  const links = SECTIONS.map((s) => h("a", { href: `#${s.id}`, dataset: { section: s.id } }, s.label));
  const body = h("div", { class: "admin-section" });
  let current: Section | null = null;
  let shown = "";
  let turn = 0;

  async function show(): Promise<void> {
    const id = location.hash.replace(/^#\/?/, "");
    if (id && !SECTIONS.some((s) => s.id === id)) return; // another anchor (the skip link): stay
    const entry = sectionFor(location.hash);
    if (entry.id === shown) return;
    shown = entry.id;
    const mine = ++turn;
    for (const link of links) {
      const active = link.dataset.section === entry.id;
      link.classList.toggle("active", active);
      if (active) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    void current?.unmount?.();
    current = null;
    try {
      const factory = await entry.load();
      if (mine !== turn) return;
      current = factory(ctx);
      replaceChildren(body, current.element);
      document.title = `${current.title} · Admin · Masklet`;
    } catch (error) {
      replaceChildren(body, h("p", { class: "message error", role: "alert" }, `This section could not be loaded: ${errorText(error)}`));
    }
  }

  const onHash = () => void show();
  window.addEventListener("hashchange", onHash);
  void show();
  const element = h("section", { class: "dashboard admin", "aria-labelledby": "dashboard-title" },
    h("h1", { id: "dashboard-title" }, "Admin dashboard"),
    h("div", { class: "admin-layout" },
      h("nav", { class: "admin-nav", "aria-label": "Admin sections" }, h("ul", null, ...links.map((l) => h("li", null, l)))),
      body));
  return { element, unmount: () => {
    window.removeEventListener("hashchange", onHash);
    void current?.unmount?.();
  } };
}
