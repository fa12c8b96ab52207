/** Auth, projects, videos and jobs: types straight from the backend's OpenAPI schema. */
import { request, upload } from "./client";
import type { components, operations } from "./schema";

type Schemas = components["schemas"];
export type Me = Schemas["Me"];
export type Project = Schemas["Project"];
export type ProjectDetail = Schemas["ProjectDetail"];
export type Video = Schemas["Video"];
export type VideoDetail = Schemas["VideoDetail"];
export type VideoWithJob = Schemas["VideoWithJob"];
export type Job = Schemas["Job"];
export type Role = "annotator" | "reviewer" | "admin";
export type Page<T> = { count: number; next?: string | null; previous?: string | null; results: T[] };

type QueryOf<Op> = Op extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export const auth = {
  csrf: () => request<Schemas["Csrf"]>("GET", "/api/auth/csrf/"),
  login: (body: Schemas["CredentialsRequest"]) => request<Me>("POST", "/api/auth/login/", { body }),
  logout: () => request<void>("POST", "/api/auth/logout/"),
  me: () => request<Me>("GET", "/api/auth/me/"),
};

export const projects = {
  list: () => request<Schemas["PaginatedProjectList"]>("GET", "/api/projects/", { query: { page_size: 100 } }),
  get: (id: number) => request<ProjectDetail>("GET", `/api/projects/${id}/`),
};

export const videos = {
  list: (query: QueryOf<operations["videos_list"]> = {}) =>
    request<Schemas["PaginatedVideoList"]>("GET", "/api/videos/", { query }),
  get: (id: number) => request<VideoDetail>("GET", `/api/videos/${id}/`),
  upload: (projectId: number, file: File, onProgress: (loaded: number, total: number) => void) => {
    const form = new FormData();
    form.set("file", file);
    form.set("name", file.name);
    return upload<VideoWithJob>(`/api/projects/${projectId}/videos/`, form, onProgress);
  },
};

export const jobs = {
  list: (query: QueryOf<operations["jobs_list"]> = {}) =>
    request<Schemas["PaginatedJobList"]>("GET", "/api/jobs/", { query }),
  get: (id: number) => request<Job>("GET", `/api/jobs/${id}/`),
  cancel: (id: number) => request<Job>("POST", `/api/jobs/${id}/cancel/`),
};

export function isTerminal(job: Pick<Job, "status">): boolean {
  return ["succeeded", "failed", "cancelled"].includes(job.status as string);
}

/** Poll a job every ``intervalMs`` until it ends; ``onUpdate`` sees each state, the first included. */
export async function followJob(job: Job, onUpdate: (job: Job) => void = () => {}, intervalMs = 1000): Promise<Job> {
  for (;;) {
    onUpdate(job);
    if (isTerminal(job)) return job;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    job = await jobs.get(job.id);
  }
}

export type User = Schemas["User"];

/** Admin writes: projects, videos (split, bulk split, delete) and accounts. */
export const projectAdmin = {
  create: (body: Schemas["ProjectCreateRequest"]) => request<ProjectDetail>("POST", "/api/projects/", { body }),
  update: (id: number, body: Schemas["PatchedProjectUpdateRequest"]) =>
    request<ProjectDetail>("PATCH", `/api/projects/${id}/`, { body }),
};

export const videoAdmin = {
  setSplit: (id: number, split: Schemas["VideoSplitRequest"]["split"]) =>
    request<VideoDetail>("PATCH", `/api/videos/${id}/`, { body: { split } }),
  /** Many videos to one split at once: all or none. */
  bulkSplit: (ids: number[], split: Schemas["VideoSplitRequest"]["split"]) =>
    request<Schemas["VideoSplitResult"]>("POST", "/api/videos/split/", { body: { videos: ids, split } }),
  remove: (id: number) => request<void>("DELETE", `/api/videos/${id}/`),
};

export const users = {
  list: (query: QueryOf<operations["users_list"]> = {}) =>
    request<Schemas["PaginatedUserList"]>("GET", "/api/users/", { query }),
  create: (body: Schemas["UserCreateRequest"]) => request<User>("POST", "/api/users/", { body }),
  update: (id: number, body: Schemas["PatchedUserUpdateRequest"]) => request<User>("PATCH", `/api/users/${id}/`, { body }),
};
