export { ApiError } from "./client";
export { labels, objectName } from "./labels";
export * as platform from "./platform";
export * as queue from "./queue";
export { session } from "./session";
export type { Rle } from "./rle-types";
