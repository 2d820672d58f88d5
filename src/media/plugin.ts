import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Video } from "../types.js";
import type { Logger } from "../log.js";

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
  /** Structured logger; lines carry the video's id. */
  logger: Logger;
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

/** Performs one upload. Resolve for success; reject (with a message) for failure. */
export type MediaProcess = (video: MediaVideo, context: MediaProcessContext) => Promise<unknown>;

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
