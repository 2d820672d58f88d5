import path from "node:path";
import { pathToFileURL } from "node:url";
import { types } from "node:util";
import { DateTime } from "luxon";
import type { Video } from "../types.js";
import type { PluginLogger } from "../log.js";

/** What a mediaProccess module is given besides the video. */
export interface MediaProcessContext {
  /** Aborted when the upload times out (UPLOAD_TIMEOUT) or the worker shuts down. */
  signal: AbortSignal;
  /** 1 for the first upload of this video, 2 for the first retry, … */
  attempt: number;
  /**
   * The same for every attempt at one video: pass it to a platform that de-duplicates
   * uploads, so a retry after an unknown outcome cannot publish the video twice.
   */
  idempotencyKey: string;
  /** Structured logger, `logger.info(msg, fields)`: lines carry the video's id and the event `media_process`. */
  logger: PluginLogger;
  /**
   * Resolves while this attempt still holds its lease; throws once it does not (another worker
   * may have the video now). Await it right before the irreversible step (the last chunk, the
   * request that completes or publishes), and stop without doing that step when it throws.
   */
  fence(): Promise<void>;
  /**
   * Keeps a small JSON state for this video (e.g. `{ uploadUrl, offset }`), across attempts and
   * workers: the next attempt reads it back as `resume`. Await it before relying on it.
   */
  checkpoint(state: unknown): Promise<void>;
  /** What an earlier attempt at this video last checkpointed; null when none did. */
  resume: unknown;
  /** Bytes sent so far and the total (null when unknown). Cheap: the runner throttles what it records. */
  progress(bytesSent: number, bytesTotal: number | null): void;
  /**
   * The configuration a destination reads (TUS_ENDPOINT, …): `process.env`, or a per-credential
   * view of it. Destinations read their settings here, never from `process.env` directly.
   */
  env: Readonly<Record<string, string | undefined>>;
}

/** The video as a plug-in sees it: the typed fields, and the row's own snake_case columns too. */
export type MediaVideo = Video & {
  user_id: string;
  source_path: string | null;
  slot_id: string | null;
  slot_date: string | null;
  created_at: Date;
  claimed_at: Date | null;
  started_at: Date | null;
  last_error: string | null;
  /** The row's videos.metadata (a JSON object: title, description, tags, …), where the row has that column. */
  metadata?: Record<string, unknown> | null;
};

/**
 * The context as the runner hands it over. The members the runner does not give yet are filled
 * in by `completeContext` (through `loadPlugin`), so a plug-in always sees a whole MediaProcessContext.
 */
export type RunnerContext = Pick<MediaProcessContext, "signal" | "attempt" | "idempotencyKey" | "logger"> & Partial<MediaProcessContext>;

/** Performs one upload. Return or resolve for success; throw or reject (with a message) for failure. */
export type MediaProcess = (video: MediaVideo, context: RunnerContext) => unknown;

/**
 * The whole context from what the runner gave: without a lease, `fence` resolves while the
 * signal has not fired; without a store, checkpoints last for this attempt only and `resume` is
 * null; progress goes nowhere; `env` is this process's environment.
 */
export function completeContext(context: RunnerContext): MediaProcessContext {
  const { signal } = context;
  return {
    ...context,
    fence: context.fence ?? (async () => signal.throwIfAborted()),
    checkpoint: context.checkpoint ?? (async () => {}),
    resume: context.resume ?? null,
    progress: context.progress ?? (() => {}),
    env: context.env ?? process.env,
  };
}

/** What `reconcile` can say about an upload whose outcome is unknown. */
export type ReconcileStatus = "done" | "not-done" | "unknown";

/** What `reconcile` may resolve to: a status, or a status with the value mediaProccess would have resolved to. */
export type ReconcileAnswer = ReconcileStatus | { status: ReconcileStatus; value?: unknown };

/**
 * Optional plug-in export: after an attempt whose outcome is unknown (its worker died), says
 * whether the platform already has the upload ("done", with what mediaProccess would have
 * returned), certainly does not ("not-done"), or cannot tell now ("unknown").
 */
export type Reconcile = (video: MediaVideo, context: MediaProcessContext) => ReconcileAnswer | Promise<ReconcileAnswer>;

const RECONCILE_STATUSES: ReadonlySet<unknown> = new Set<ReconcileStatus>(["done", "not-done", "unknown"]);

/** A reconcile answer in one shape, `{ status, value }` (value null when none was given). */
export function reconcileResult(answer: unknown): { status: ReconcileStatus; value: unknown } {
  if (RECONCILE_STATUSES.has(answer)) return { status: answer as ReconcileStatus, value: null };
  if (typeof answer === "object" && answer !== null && RECONCILE_STATUSES.has((answer as { status?: unknown }).status)) {
    const { status, value } = answer as { status: ReconcileStatus; value?: unknown };
    return { status, value: value ?? null };
  }
  throw new TypeError(
    `reconcile answered ${JSON.stringify(answer) ?? String(answer)}: it must answer "done", "not-done" or "unknown", or { status, value } with one of them`,
  );
}

/** Adds the public.videos column names, so a module may use either spelling. */
export function forPlugin(video: Video): MediaVideo {
  return {
    ...video,
    user_id: video.userId,
    source_path: video.sourcePath,
    slot_id: video.slotId,
    slot_date: video.slotDate,
    created_at: video.createdAt.toJSDate(),
    claimed_at: video.claimedAt?.toJSDate() ?? null,
    started_at: video.startedAt?.toJSDate() ?? null,
    last_error: video.lastError,
  };
}

/** A plug-in: its mediaProccess, and its reconcile when it exports one. */
export interface Plugin {
  mediaProccess: MediaProcess;
  reconcile: ((video: MediaVideo, context: RunnerContext) => Promise<{ status: ReconcileStatus; value: unknown }>) | null;
}

/** The destinations that ship with the package, by the name MEDIA_PROCESS_MODULE gives them (builtin:tus). */
const BUILTIN: Record<string, () => Promise<Record<string, unknown>>> = {
  tus: () => import("./destinations/tus.js"),
  youtube: () => import("./destinations/youtube.js"),
};

/**
 * Loads the plug-in at `modulePath` (relative to the working directory), or a built-in
 * destination named `builtin:tus` or `builtin:youtube`. Its functions are given a whole context
 * (`completeContext`) and reconcile's answer comes normalised (`reconcileResult`).
 */
export async function loadPlugin(modulePath: string): Promise<Plugin> {
  let mod: Record<string, unknown>;
  const builtin = modulePath.startsWith("builtin:") ? modulePath.slice("builtin:".length) : null;
  if (builtin !== null) {
    const load = BUILTIN[builtin];
    if (!load) {
      throw new Error(
        `MEDIA_PROCESS_MODULE ${modulePath} names no built-in destination: use builtin:${Object.keys(BUILTIN).join(" or builtin:")}, ` +
          `leave it unset for the local destination, or give the path of a module`,
      );
    }
    mod = await load();
  } else {
    try {
      mod = await import(pathToFileURL(path.resolve(modulePath)).href);
    } catch (error) {
      throw new Error(`MEDIA_PROCESS_MODULE ${modulePath} could not be loaded: ${(error as Error).message}`, { cause: error });
    }
  }
  const exported = (name: string) => mod[name] ?? (mod.default as Record<string, unknown> | undefined)?.[name];
  const fn = exported("mediaProccess");
  if (typeof fn !== "function") {
    throw new Error(
      `MEDIA_PROCESS_MODULE ${modulePath} does not export a function mediaProccess(video, context); ` +
        `it exports: ${Object.keys(mod).join(", ") || "nothing"}. See examples/media-process.mjs.`,
    );
  }
  const reconcile = exported("reconcile");
  if (reconcile !== undefined && typeof reconcile !== "function") {
    throw new Error(`MEDIA_PROCESS_MODULE ${modulePath} exports reconcile, but not as a function reconcile(video, context): remove it or make it one`);
  }
  return {
    mediaProccess: (video, context) => (fn as (v: MediaVideo, c: MediaProcessContext) => unknown)(video, completeContext(context)),
    reconcile: reconcile
      ? async (video, context) => reconcileResult(await (reconcile as Reconcile)(video, completeContext(context)))
      : null,
  };
}

/** Loads `mediaProccess` from the module at `modulePath` (see loadPlugin). */
export async function loadMediaProcess(modulePath: string): Promise<MediaProcess> {
  return (await loadPlugin(modulePath)).mediaProccess;
}

const DATE_FIELDS = ["createdAt", "claimedAt", "startedAt", "finishedAt", "notBefore"] as const;

/** A video as it crosses to an upload's thread: its DateTimes as ISO text. */
export type WireVideo = Omit<Video, (typeof DATE_FIELDS)[number]> & Record<(typeof DATE_FIELDS)[number], string | null>;

export function toWire(video: Video): WireVideo {
  const wire: Record<string, unknown> = { ...video };
  for (const field of DATE_FIELDS) wire[field] = video[field]?.toISO() ?? null;
  return wire as WireVideo;
}

export function fromWire(wire: WireVideo): Video {
  const video: Record<string, unknown> = { ...wire };
  for (const field of DATE_FIELDS) {
    const iso = wire[field];
    video[field] = iso === null ? null : DateTime.fromISO(iso, { zone: wire.timeZone });
  }
  return video as unknown as Video;
}

/**
 * What a plug-in threw or rejected with, as text for videos.last_error: an Error's message,
 * a string as it is, anything else as JSON (so `{ status: 403 }` is not "[object Object]").
 */
export function describeRejection(reason: unknown): string {
  if (types.isNativeError(reason)) return reason.message || reason.name || "Error";
  if (typeof reason === "string") return reason || "mediaProccess rejected with an empty string";
  if (reason === undefined || reason === null || typeof reason === "function" || typeof reason === "symbol") {
    return `mediaProccess rejected with ${String(reason)}`;
  }
  try {
    return JSON.stringify(reason);
  } catch {
    return String(reason);
  }
}
