/** A project's label set (any role reads it; admins change it) and how an object is named with its label. */
import { request } from "./client";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type Label = Schemas["Label"];
export type LabelRef = Schemas["LabelRef"];

export const labels = {
  list: (projectId: number) => request<Label[]>("GET", `/api/projects/${projectId}/labels/`),
  create: (projectId: number, body: Schemas["LabelCreateRequest"]) =>
    request<Label>("POST", `/api/projects/${projectId}/labels/`, { body }),
  update: (projectId: number, labelId: number, body: Schemas["PatchedLabelUpdateRequest"]) =>
    request<Label>("PATCH", `/api/projects/${projectId}/labels/${labelId}/`, { body }),
  remove: (projectId: number, labelId: number) =>
    request<void>("DELETE", `/api/projects/${projectId}/labels/${labelId}/`),
};

/**
 * An object's name, the same in the workspace, review and messages: its number in its video
 * (`object_number`, as the API and the exports' manifest and label map give it) and its label.
 */
export function objectName(objectNumber: number, label?: Pick<LabelRef, "name"> | null): string {
  return label ? `Object ${objectNumber} · ${label.name}` : `Object ${objectNumber}`;
}
