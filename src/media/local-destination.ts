import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, realpath, rename, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isProcessRunning } from "../processes.js";
import type { MediaProcessContext, MediaVideo } from "./plugin.js";

export interface StoredFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** `<target>.<pid>@<host>.partial`; older versions wrote `<target>.<pid>.partial`. */
const PARTIAL = /\.(\d+)(?:@(.+))?\.partial$/;

/**
 * The built-in destination: copies the video's source file into `uploadDir`, then checks
 * the copy's size and SHA-256 against the source. With `sourceRoots`, only files under them
 * are read (so a tenant that writes source_path cannot have the worker copy /etc/shadow). The file appears under its final name
 * only once it is complete and verified, and never once the upload's signal has fired.
 */
export function localDestination(
  uploadDir: string,
  sourceRoots: string[] = [],
): (video: MediaVideo, context: Pick<MediaProcessContext, "signal" | "logger">) => Promise<StoredFile> {
  // The roots as the file system names them (no symbolic link in the way).
  const roots = Promise.all(sourceRoots.map((root) => realpath(root).catch(() => path.resolve(root))));
  return async (video, { signal, logger }) => {
    signal.throwIfAborted();
    if (!video.sourcePath) {
      throw new Error(`video ${video.id} has no source file: set videos.source_path to the file to upload`);
    }
    const given = path.resolve(video.sourcePath);
    // Read through its real path: a symbolic link cannot lead outside SOURCE_ROOTS.
    const source = await realpath(given).catch(() => {
      throw new Error(`source file ${given} of video ${video.id} does not exist or cannot be read`);
    });
    if (sourceRoots.length > 0 && !(await roots).some((root) => source === root || source.startsWith(root + path.sep))) {
      throw new Error(`source file ${given} of video ${video.id} is outside SOURCE_ROOTS (${sourceRoots.join(path.delimiter)}): the built-in destination reads only files under them`);
    }
    const sourceStat = await stat(source).catch(() => {
      throw new Error(`source file ${given} of video ${video.id} does not exist or cannot be read`);
    });
    if (!sourceStat.isFile()) throw new Error(`source ${given} of video ${video.id} is not a file`);

    await mkdir(uploadDir, { recursive: true });
    const target = path.join(uploadDir, `${video.id}${path.extname(source)}`);
    const partial = `${target}.${process.pid}@${hostname()}.partial`;
    const sourceHash = createHash("sha256");
    try {
      await pipeline(
        createReadStream(source),
        new Transform({
          transform(chunk, _encoding, callback) {
            sourceHash.update(chunk);
            callback(null, chunk);
          },
        }),
        createWriteStream(partial),
        { signal },
      );
      const expected = sourceHash.digest("hex");
      const copied = await sha256(partial, signal);
      const copiedSize = (await stat(partial)).size;
      if (copied !== expected || copiedSize !== sourceStat.size) {
        throw new Error(`verification failed for video ${video.id}: copied ${copiedSize} bytes (sha256 ${copied}), source has ${sourceStat.size} (sha256 ${expected})`);
      }
      // Verified, but called off meanwhile: it must not appear after its video was recorded failed.
      signal.throwIfAborted();
      await rename(partial, target);
      logger.info("stored", { video_id: video.id, path: target, bytes: copiedSize, sha256: copied });
      return { path: target, bytes: copiedSize, sha256: copied };
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  };
}

async function sha256(file: string, signal: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { signal })) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Removes the .partial files of copies whose process no longer runs on this host (killed
 * mid-copy); returns their names. Those of running processes, and of other hosts, are left alone.
 */
export async function removeStalePartials(uploadDir: string): Promise<string[]> {
  const names = await readdir(uploadDir).catch(() => [] as string[]);
  const stale = names.filter((name) => {
    const match = PARTIAL.exec(name);
    return match && (match[2] === undefined || match[2] === hostname()) && !isProcessRunning(Number(match[1]));
  });
  for (const name of stale) await rm(path.join(uploadDir, name), { force: true });
  return stale;
}
