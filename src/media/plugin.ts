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

/** Performs one upload. Resolve for success; reject (with a message) for failure. */
export type MediaProcess = (video: Video, context: MediaProcessContext) => Promise<unknown>;

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
