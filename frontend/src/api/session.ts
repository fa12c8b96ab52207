/**
 * Interactive sessions (SAM 2 in the loop): types from the backend's OpenAPI schema, narrowed
 * where the schema says only "JSON" (points, labels, box, mask) or "integer" (phase).
 */
import { request } from "./client";
import type { Job } from "./platform";
import type { Rle } from "./rle-types";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type Phase = 1 | 2 | 3;
export type Session = Omit<Schemas["Session"], "phase"> & { phase: Phase };
export type SessionObject = Schemas["SessionObject"];
export type PromptAnswer = Omit<Schemas["PromptAnswer"], "mask"> & { mask: Rle };
export type UndoAnswer = Omit<Schemas["UndoAnswer"], "mask"> & { mask: Rle };
export type SessionProgress = Schemas["SessionProgress"];
export type ReviewFeedback = NonNullable<Schemas["Session"]["review"]>;
export type ObjectMasks = Omit<Schemas["ObjectMasks"], "masks"> & { masks: Record<string, Rle> };
export type Direction = NonNullable<Schemas["PropagateRequest"]["direction"]>;

export type PromptRequest = Omit<Schemas["PromptRequest"], "points" | "labels" | "box" | "mask"> & {
  points?: [number, number][];
  labels?: (0 | 1)[];
  box?: [number, number, number, number];
  mask?: Rle;
};

const now = () => new Date().toISOString();

export const session = {
  open: (taskId: number) => request<Session>("POST", `/api/tasks/${taskId}/session/`),
  prompt: (taskId: number, body: PromptRequest) =>
    request<PromptAnswer>("POST", `/api/tasks/${taskId}/prompts/`, { body: { client_timestamp: now(), ...body } }),
  addObject: (taskId: number, label?: number) =>
    request<SessionObject>("POST", `/api/tasks/${taskId}/objects/`, { body: label ? { label } : {} }),
  /** Change an object's label (a label of the task's project). */
  setLabel: (taskId: number, objectNumber: number, label: number) =>
    request<SessionObject>("PATCH", `/api/tasks/${taskId}/objects/${objectNumber}/`, { body: { label } }),
  removeObject: (taskId: number, objectNumber: number) =>
    request<void>("DELETE", `/api/tasks/${taskId}/objects/${objectNumber}/`),
  propagate: (taskId: number, frameIndex: number, direction: Direction) =>
    request<Job>("POST", `/api/tasks/${taskId}/propagate/`, {
      body: { frame_index: frameIndex, direction, client_timestamp: now() },
    }),
  /** The latest masks of frames [start, end] (inclusive), per object (every object when omitted). */
  masks: (taskId: number, start: number, end: number, objectNumber?: number) =>
    request<ObjectMasks[]>("GET", `/api/tasks/${taskId}/masks/`, {
      query: { object_number: objectNumber, start, end },
    }),
  /** Automatic masklets for a ready video (admins): a Job; the masklets go to verification. */
  autoMasklets: (videoId: number, params: Schemas["AutoMaskletsRequest"] = {}) =>
    request<Job>("POST", `/api/videos/${videoId}/auto-masklets/`, { body: params }),
  undo: (taskId: number) => request<UndoAnswer>("POST", `/api/tasks/${taskId}/undo/`, { body: { client_timestamp: now() } }),
  /** How far a recompute of the session got (an undo without a snapshot): nulls when none runs. */
  progress: (taskId: number) => request<SessionProgress>("GET", `/api/tasks/${taskId}/session/progress/`),
};
