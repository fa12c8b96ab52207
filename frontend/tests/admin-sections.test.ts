import { describe, expect, it } from "vitest";
import { SECTIONS, sectionFor } from "../src/ui/admin/dashboard";

describe("admin sections by hash", () => {
  it("opens the section a hash names, with or without a slash", () => {
    expect(sectionFor("#videos").id).toBe("videos");
    expect(sectionFor("#/users").id).toBe("users");
  });
  it("falls back to the metrics for an empty or unknown hash", () => {
    expect(sectionFor("").id).toBe("metrics");
    expect(sectionFor("#nowhere").id).toBe("metrics");
  });
  it("has one section per admin job, each with a distinct id", () => {
    const ids = SECTIONS.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(["metrics", "projects", "videos", "tasks", "auto-masklets", "exchange", "models", "verifier", "users", "jobs"]);
  });
});
