export { UploadSchedulerService, type Queryable } from "./service.js";
export { SchedulerError, type SchedulerErrorKind } from "./errors.js";
export type * from "./types.js";
export { VIDEO_STATUSES } from "./types.js";
export type { MediaProcess, MediaProcessContext, MediaVideo, Reconcile, ReconcileAnswer, ReconcileStatus } from "./media/plugin.js";
export { reconcileResult } from "./media/plugin.js";
export { RetryLater, NeedsReconnect, PermanentFailure, failureKind, failureFields, type FailureKind, type FailureFields } from "./media/errors.js";
export { uploadSchedulerTasks, type UploadSchedulerTasks } from "./embed.js";
export { prepareDatabase, migrateDatabase, type SchemaChanges } from "./db/migrate.js";
export { endpointPool, startHttpEndpoint, type HttpEndpoint } from "./http/server.js";
export { ConfigError, readConfig, type Config } from "./config.js";
export {
  LOG_EVENTS, createLogger, fromGraphileLogger, fromPino, jsonLogger, toLogger,
  type AnyLogger, type LogEvent, type LogFields, type Logger, type LoggerOptions, type PluginLogger,
} from "./log.js";
export type { SchedulerMetrics } from "./metrics.js";
