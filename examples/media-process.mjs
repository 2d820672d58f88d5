// An example MEDIA_PROCESS_MODULE: uploads a video's file to an HTTP endpoint.
//
//   MEDIA_PROCESS_MODULE=examples/media-process.mjs UPLOAD_ENDPOINT=http://127.0.0.1:8080/upload npm start
//
// The contract: export mediaProccess(video, context). Resolve when the upload succeeded;
// reject (with a useful message) when it failed. context.signal aborts on timeout or
// shutdown: pass it to everything that waits. context.idempotencyKey is the same for every
// attempt at one video: send it, so the platform can refuse a duplicate.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";

export async function mediaProccess(video, { signal, attempt, idempotencyKey, logger }) {
  const endpoint = process.env.UPLOAD_ENDPOINT;
  if (!endpoint) throw new Error("UPLOAD_ENDPOINT is not set");
  if (!video.sourcePath) throw new Error(`video ${video.id} has no source_path`);
  const { size } = await stat(video.sourcePath);

  logger.info("uploading", { endpoint, bytes: size, attempt });
  const response = await fetch(endpoint, {
    method: "PUT",
    body: createReadStream(video.sourcePath),
    duplex: "half",
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(size),
      "idempotency-key": idempotencyKey,
      "x-video-title": encodeURIComponent(video.title ?? ""),
    },
    signal,
  });
  if (!response.ok) {
    throw new Error(`upload endpoint answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  }
  return { status: response.status };
}
