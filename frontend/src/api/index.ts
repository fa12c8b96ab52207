export { ApiError } from "./client";
export * as platform from "./platform";
export * as queue from "./queue";
export { session } from "./session";
export type { Rle } from "./rle-types";
