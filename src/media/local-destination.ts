import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { MediaProcess } from "./plugin.js";

/**
 * The built-in destination: copies the video's source file into `uploadDir`, then checks
 * the copy's size and SHA-256 against the source. The file appears under its final name
 * only once it is complete and verified.
 */
export function localDestination(uploadDir: string): MediaProcess {
  return async (video, { signal, logger }) => {
    if (!video.sourcePath) {
      throw new Error(`video ${video.id} has no source file: set videos.source_path to the file to upload`);
    }
    const source = path.resolve(video.sourcePath);
    const sourceStat = await stat(source).catch(() => {
      throw new Error(`source file ${source} of video ${video.id} does not exist or cannot be read`);
    });
    if (!sourceStat.isFile()) throw new Error(`source ${source} of video ${video.id} is not a file`);

    await mkdir(uploadDir, { recursive: true });
    const target = path.join(uploadDir, `${video.id}${path.extname(source)}`);
    const partial = `${target}.${process.pid}.partial`;
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
      const copied = await sha256(partial);
      const copiedSize = (await stat(partial)).size;
      if (copied !== expected || copiedSize !== sourceStat.size) {
        throw new Error(`verification failed for video ${video.id}: copied ${copiedSize} bytes (sha256 ${copied}), source has ${sourceStat.size} (sha256 ${expected})`);
      }
      await rename(partial, target);
      logger.info("stored", { video_id: video.id, path: target, bytes: copiedSize, sha256: copied });
      return { path: target, bytes: copiedSize, sha256: copied };
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  };
}

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest("hex");
}
