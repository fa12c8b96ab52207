/** Annotation queue, verification and metrics: types from the backend's OpenAPI schema. */
import { postKeepalive, request, upload } from "./client";
import type { Rle } from "./rle-types";
import type { components, operations } from "./schema";

type Schemas = components["schemas"];
/** The schema types `masks` as any JSON; the API documents it as frame index → COCO RLE. */
export type MaskletRevision = Omit<Schemas["Revision"], "masks"> & { masks: Record<string, Rle> };
export type Masklet = Omit<Schemas["MaskletDetail"], "current_revision"> & { current_revision: MaskletRevision | null };
export type Task = Schemas["Task"];
export type MetricsRow = Schemas["MetricsRow"];
export type Review = Schemas["Review"];
export type Rejection = Schemas["Rejection"];
export type GroupBy = NonNullable<NonNullable<operations["metrics_table"]["parameters"]["query"]>["group_by"]>;

export const tasks = {
  /** Queue `count` annotation tasks on a ready video, in its project's phase (admins). */
  create: (video: number, count = 1) =>
    request<Task[]>("POST", "/api/tasks/", { body: { video, count } satisfies Partial<Schemas["TaskCreateRequest"]> }),
  /** The next task leased to you, or null when the queue is empty (204). */
  next: async (phase?: 1 | 2 | 3) =>
    (await request<Task | undefined>("POST", "/api/tasks/next/", { body: phase ? { phase } : {} })) ?? null,
  get: (id: number) => request<Task>("GET", `/api/tasks/${id}/`),
  heartbeat: (id: number) => request<Task>("POST", `/api/tasks/${id}/heartbeat/`),
  release: (id: number) => request<Task>("POST", `/api/tasks/${id}/release/`),
  submit: (id: number) =>
    request<Task>("POST", `/api/tasks/${id}/submit/`, { body: { client_timestamp: new Date().toISOString() } }),
};

export const reviews = {
  /** The next masklet to verify (leased to you, with its masks), or null when none waits (204). */
  next: async (order: "oldest" | "uncertain" = "oldest") =>
    (await request<Masklet | undefined>("POST", "/api/reviews/next/", { body: { order } })) ?? null,
};

export const masklets = {
  get: (id: number) => request<Masklet>("GET", `/api/masklets/${id}/`),
  accept: (id: number, revision: number) =>
    request<Review>("POST", `/api/masklets/${id}/accept/`, { body: { revision } }),
  reject: (id: number, revision: number, reason: string) =>
    request<Rejection>("POST", `/api/masklets/${id}/reject/`, { body: { revision, reason } }),
  release: (id: number) => request<void>("POST", `/api/masklets/${id}/review-release/`),
  /** Give the review lease back while the page goes away (pagehide, leaving the screen). */
  releaseOnLeave: (id: number) => postKeepalive(`/api/masklets/${id}/review-release/`),
};

export const metrics = (groupBy: GroupBy = "phase", project?: number) =>
  request<MetricsRow[]>("GET", "/api/metrics/", { query: { group_by: groupBy, project } });

export type DashboardFigures = Schemas["Dashboard"];

/** Throughput per day, acceptance rates, auto vs manual masklets (admins). */
export const dashboardFigures = (days = 30, project?: number) =>
  request<DashboardFigures>("GET", "/api/metrics/dashboard/", { query: { days, project } });

export type ModelVersion = Schemas["ModelVersion"];

export const modelVersions = {
  list: () => request<Schemas["PaginatedModelVersionList"]>("GET", "/api/model-versions/", { query: { page_size: 50 } }),
  /** Make a version the one new sessions use (open sessions keep theirs). */
  promote: (id: number) => request<ModelVersion>("POST", `/api/model-versions/${id}/promote/`),
  /** Register a checkpoint file (checked by a Job before it can be used); config empty: inferred. */
  register: (name: string, file: File, config: string, onProgress: (loaded: number, total: number) => void) => {
    const form = new FormData();
    form.set("name", name);
    form.set("file", file);
    if (config) form.set("config", config);
    return upload<Schemas["ModelVersionWithJob"]>("/api/model-versions/", form, onProgress);
  },
};

export type RetrainingRound = Schemas["RetrainingRound"];
export type RetrainingLaunch = Schemas["RetrainingLaunchRequest"];

export const retraining = {
  list: () => request<Schemas["PaginatedRetrainingRoundList"]>("GET", "/api/retraining-rounds/", { query: { page_size: 10 } }),
  launch: (body: RetrainingLaunch) => request<RetrainingRound>("POST", "/api/retraining-rounds/", { body }),
};
