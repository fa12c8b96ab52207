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
export type Comment = Schemas["Comment"];
/** A note pinned to a frame, as sent with a decision. */
export type CommentIn = Schemas["CommentInRequest"];
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
  reject: (id: number, revision: number, reason: string, comments: CommentIn[] = []) =>
    request<Rejection>("POST", `/api/masklets/${id}/reject/`, { body: { revision, reason, comments } }),
  /** Notes pinned to frames of the masklet's revisions. */
  comments: (id: number) => request<Comment[]>("GET", `/api/masklets/${id}/comments/`),
  /** A note on a frame of the revision under review (needs its review lease). */
  comment: (id: number, revision: number, frameIndex: number, text: string) =>
    request<Comment>("POST", `/api/masklets/${id}/comments/`, { body: { revision, frame_index: frameIndex, text } }),
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
  /** Score a version on a project's held-out split (GT mask, 1 click, box): a Job; scores land in its metrics. */
  evaluate: (id: number, body: Schemas["ModelVersionEvaluateRequest"]) =>
    request<Schemas["Job"]>("POST", `/api/model-versions/${id}/evaluate/`, { body }),
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

/** Admins steering the queue: the task list with filters, priority, assignment, release, reopen. */
export const taskAdmin = {
  list: (query: NonNullable<operations["tasks_list"]["parameters"]["query"]> = {}) =>
    request<Schemas["PaginatedTaskList"]>("GET", "/api/tasks/", { query }),
  update: (id: number, body: Schemas["PatchedTaskAdminUpdateRequest"]) =>
    request<Task>("PATCH", `/api/tasks/${id}/`, { body }),
  release: (id: number) => request<Task>("POST", `/api/tasks/${id}/requeue/`),
  reopen: (id: number) => request<Task>("POST", `/api/tasks/${id}/reopen/`),
};

export type RetrainingPreview = Schemas["RetrainingPreview"];
export const retrainingPreview = (dataSelection: RetrainingLaunch["data_selection"]) =>
  request<RetrainingPreview>("POST", "/api/retraining-rounds/preview/", { body: { data_selection: dataSelection } });

export type ExportRequest = Schemas["ExportCreateRequest"];
export const exchange = {
  exportStart: (body: ExportRequest) => request<import("./platform").Job>("POST", "/api/exports/", { body }),
  download: (jobId: number) => request<Schemas["ExportDownload"]>("GET", `/api/exports/${jobId}/download/`),
  importFiles: (videoId: number, files: File[], status: string, kind: string) => {
    const form = new FormData();
    for (const file of files) form.append("file", file);
    form.set("status", status);
    form.set("kind", kind);
    return upload<import("./platform").Job>(`/api/videos/${videoId}/imports/`, form, () => undefined);
  },
};
