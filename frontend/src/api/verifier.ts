/** The masklet verifier: versions with held-out metrics, the policy of automatic decisions, training,
 * audits and reversals. Types from the backend's OpenAPI schema. */
import { request } from "./client";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type VerifierState = Schemas["VerifierState"];
export type VerifierPolicyChange = Schemas["PatchedVerifierPolicyRequest"];
export type AutomaticReview = Schemas["AutomaticReview"];
export type Job = Schemas["Job"];

export const verifier = {
  state: () => request<VerifierState>("GET", "/api/verifier/"),
  update: (change: VerifierPolicyChange) => request<VerifierState>("PATCH", "/api/verifier/", { body: change }),
  train: () => request<Job>("POST", "/api/verifier/train/"),
  audits: () => request<AutomaticReview[]>("GET", "/api/verifier/audits/"),
  audit: (review: number, decision: "accept" | "reject", reason = "") =>
    request<AutomaticReview>("POST", `/api/reviews/${review}/audit/`, { body: { decision, reason } }),
  reverse: (review: number, reason = "") =>
    request<Schemas["Review"]>("POST", `/api/reviews/${review}/reverse/`, { body: { reason } }),
};
