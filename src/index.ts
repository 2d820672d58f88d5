export { UploadSchedulerService, type Queryable } from "./service.js";
export { SchedulerError, type SchedulerErrorKind } from "./errors.js";
export type * from "./types.js";
export { VIDEO_STATUSES } from "./types.js";
export type { MediaProcess, MediaProcessContext } from "./media/plugin.js";
