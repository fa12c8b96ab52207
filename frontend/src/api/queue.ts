/**
 * Annotation queue, verification and metrics. These routes are not in openapi.yaml yet (the
 * annotation API is being built): the types follow the agreed contract and move to the generated
 * schema types once `npm run schema && npm run gen:api` picks the routes up.
 */
import { ApiError, request } from "./client";
import type { Rle } from "./rle-types";

export interface Task {
  id: number;
  video: number;
  phase: 1 | 2 | 3;
  status: string;
  kind?: string;
  masklet?: number | null;
  lease_expires_at?: string | null;
}

export interface MaskletRevision {
  id: number;
  number: number;
  phase?: number | null;
  masks: Record<string, Rle>;
  edited_frames?: number[];
  source?: string;
}

export interface Masklet {
  id: number;
  video: number;
  object_number: number;
  kind: "manual" | "auto";
  status: string;
  current_revision: MaskletRevision;
}

export interface MetricsRow {
  key: string | number;
  label?: string;
  masklets?: number;
  time_per_frame_s?: number | null;
  edited_frames_pct?: number | null;
  clicks_per_clicked_frame?: number | null;
  acceptance_rate?: number | null;
  auto_masklets?: number;
  manual_masklets?: number;
  [extra: string]: unknown;
}

export type GroupBy = "phase" | "annotator" | "model_version";

/** `next` answers null when the queue is empty (204, or 404 with the error shape). */
async function nextOrNull<T>(path: string, body: unknown): Promise<T | null> {
  try {
    const result = await request<T | undefined>("POST", path, { body });
    return result ?? null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && !error.isMissingRoute) return null;
    throw error;
  }
}

export const tasks = {
  next: (phase?: number) => nextOrNull<Task>("/api/tasks/next/", phase ? { phase } : {}),
  get: (id: number) => request<Task>("GET", `/api/tasks/${id}/`),
  heartbeat: (id: number) => request<Task>("POST", `/api/tasks/${id}/heartbeat/`),
  release: (id: number) => request<Task>("POST", `/api/tasks/${id}/release/`),
  submit: (id: number) => request<Task>("POST", `/api/tasks/${id}/submit/`, { body: {} }),
};

/** The review queue may answer the masklet itself or `{masklet: ...}`; both are accepted. */
export const reviews = {
  async next(): Promise<Masklet | null> {
    const answer = await nextOrNull<Masklet | { masklet: Masklet }>("/api/reviews/next/", {});
    if (answer && "masklet" in answer && typeof answer.masklet === "object") return answer.masklet;
    return answer as Masklet | null;
  },
};

export const masklets = {
  get: (id: number) => request<Masklet>("GET", `/api/masklets/${id}/`),
  accept: (id: number, revisionId: number) =>
    request<unknown>("POST", `/api/masklets/${id}/accept/`, { body: { revision_id: revisionId } }),
  reject: (id: number, revisionId: number, reason: string) =>
    request<unknown>("POST", `/api/masklets/${id}/reject/`, { body: { revision_id: revisionId, reason } }),
};

export async function metrics(groupBy: GroupBy): Promise<MetricsRow[]> {
  const data = await request<MetricsRow[] | { results?: MetricsRow[]; rows?: MetricsRow[]; groups?: MetricsRow[] }>(
    "GET",
    "/api/metrics/",
    { query: { group_by: groupBy } },
  );
  if (Array.isArray(data)) return data;
  return data.results ?? data.rows ?? data.groups ?? [];
}

export interface ModelVersion {
  id: number;
  name: string;
  config_name?: string;
  is_active?: boolean;
  metrics?: Record<string, number>;
  created_at?: string;
}

export async function modelVersions(): Promise<ModelVersion[]> {
  const data = await request<ModelVersion[] | { results: ModelVersion[] }>("GET", "/api/model-versions/");
  return Array.isArray(data) ? data : data.results;
}
