// The built-in destination really copies the file and verifies it.
import t from "tap";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { DateTime } from "luxon";
import { localDestination } from "../src/media/local-destination.js";
import { forPlugin, loadMediaProcess } from "../src/media/plugin.js";
import { jsonLogger } from "../src/log.js";
import type { Video } from "../src/types.js";

const video = (sourcePath: string | null) => forPlugin({
  id: "6f1c1f0e-0000-4000-8000-000000000001", userId: "u", status: "uploading", title: null, sourcePath,
  slotId: null, slotDate: null, createdAt: DateTime.now(), claimedAt: null, startedAt: null, finishedAt: null,
  attempts: 1, lastError: null, lastOutcome: null, worker: null, timeZone: "UTC",
} satisfies Video);
const context = () => ({ signal: new AbortController().signal, attempt: 1, idempotencyKey: "k", logger: jsonLogger({}, () => {}) });

t.test("copies the source file into the upload directory, byte for byte", async (t) => {
  const dir = t.testdir({ uploads: {} });
  const source = path.join(dir, "clip.mp4");
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  writeFileSync(source, bytes);
  const upload = localDestination(path.join(dir, "uploads"));
  const result = (await upload(video(source), context())) as { path: string; bytes: number };
  t.equal(result.bytes, bytes.length);
  t.ok(readFileSync(result.path).equals(bytes), "the copy equals the source");
  t.same(readdirSync(path.join(dir, "uploads")), [`${video(null).id}.mp4`], "no partial file is left behind");
});

t.test("a video without a source file fails with a clear message", async (t) => {
  const dir = t.testdir({});
  const upload = localDestination(dir);
  await t.rejects(upload(video(null), context()), /has no source file: set videos.source_path/);
  await t.rejects(upload(video(path.join(dir, "missing.mp4")), context()), /does not exist or cannot be read/);
});

t.test("an aborted copy leaves nothing behind", async (t) => {
  const dir = t.testdir({ uploads: {} });
  const source = path.join(dir, "big.bin");
  writeFileSync(source, randomBytes(8 * 1024 * 1024));
  const controller = new AbortController();
  controller.abort(new Error("timeout"));
  await t.rejects(localDestination(path.join(dir, "uploads"))(video(source), { ...context(), signal: controller.signal }));
  t.same(readdirSync(path.join(dir, "uploads")), []);
});

t.test("MEDIA_PROCESS_MODULE must export mediaProccess", async (t) => {
  const dir = t.testdir({ "good.mjs": "export async function mediaProccess() { return 1 }", "bad.mjs": "export const upload = 1" });
  t.type(await loadMediaProcess(path.join(dir, "good.mjs")), "function");
  await t.rejects(loadMediaProcess(path.join(dir, "bad.mjs")), /does not export a function mediaProccess\(video, context\); it exports: upload/);
  await t.rejects(loadMediaProcess(path.join(dir, "nope.mjs")), /could not be loaded/);
});
