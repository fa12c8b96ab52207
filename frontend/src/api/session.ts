/**
 * Interactive sessions (SAM 2 in the loop). The backend routes do not exist yet: these types are
 * the agreed contract; switch them to the generated schema types when the routes land.
 */
import { request } from "./client";
import type { Job } from "./platform";
import type { Rle } from "./rle-types";

export type Phase = 1 | 2 | 3;

export interface SessionObject {
  object_number: number;
  masklet_id: number;
  color?: string;
}

export interface Session {
  video: { frame_count: number; width: number; height: number; frames: string[] };
  objects: SessionObject[];
  phase: Phase;
  model_version: string | number;
}

export type PromptKind = "click" | "box" | "mask";

export interface PromptRequest {
  frame_index: number;
  object_number: number;
  kind: PromptKind;
  points?: [number, number][];
  labels?: (0 | 1)[];
  box?: [number, number, number, number];
  mask?: Rle;
  client_timestamp: string;
}

export interface PromptResult {
  frame_index: number;
  object_number: number;
  mask: Rle;
  latency_ms: number;
}

export type Direction = "forward" | "backward" | "both";

export const session = {
  open: (taskId: number) => request<Session>("POST", `/api/tasks/${taskId}/session/`),
  prompt: (taskId: number, body: PromptRequest) =>
    request<PromptResult>("POST", `/api/tasks/${taskId}/prompts/`, { body }),
  addObject: (taskId: number) => request<{ object_number: number }>("POST", `/api/tasks/${taskId}/objects/`),
  removeObject: (taskId: number, objectNumber: number) =>
    request<void>("DELETE", `/api/tasks/${taskId}/objects/${objectNumber}/`),
  propagate: (taskId: number, frameIndex: number, direction: Direction) =>
    request<Job>("POST", `/api/tasks/${taskId}/propagate/`, { body: { frame_index: frameIndex, direction } }),
  masks: (taskId: number, objectNumber: number, start: number, end: number) =>
    request<{ frames: Record<string, Rle> }>("GET", `/api/tasks/${taskId}/masks/`, {
      query: { object_number: objectNumber, start, end },
    }),
  undo: (taskId: number) => request<unknown>("POST", `/api/tasks/${taskId}/undo/`),
};
