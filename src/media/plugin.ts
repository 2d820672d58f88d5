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
};

/** Performs one upload. Return or resolve for success; throw or reject (with a message) for failure. */
export type MediaProcess = (video: MediaVideo, context: MediaProcessContext) => unknown;

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

/** Loads `mediaProccess` from the module at `modulePath` (relative to the working directory). */
export async function loadMediaProcess(modulePath: string): Promise<MediaProcess> {
  const url = pathToFileURL(path.resolve(modulePath)).href;
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (error) {
    throw new Error(`MEDIA_PROCESS_MODULE ${modulePath} could not be loaded: ${(error as Error).message}`, { cause: error });
  }
  const fn = mod.mediaProccess ?? (mod.default as Record<string, unknown> | undefined)?.mediaProccess;
  if (typeof fn !== "function") {
    throw new Error(
      `MEDIA_PROCESS_MODULE ${modulePath} does not export a function mediaProccess(video, context); ` +
        `it exports: ${Object.keys(mod).join(", ") || "nothing"}. See examples/media-process.mjs.`,
    );
  }
  return fn as MediaProcess;
}

const DATE_FIELDS = ["createdAt", "claimedAt", "startedAt", "finishedAt"] as const;

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
