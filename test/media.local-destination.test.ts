// The built-in destination really copies the file and verifies it.
import t from "tap";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, readdirSync, statSync, symlinkSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { DateTime } from "luxon";
import { localDestination, removeStalePartials } from "../src/media/local-destination.js";
import { forPlugin, loadMediaProcess } from "../src/media/plugin.js";
import { jsonLogger } from "../src/log.js";
import type { Video } from "../src/types.js";

const video = (sourcePath: string | null) => forPlugin({
  id: "6f1c1f0e-0000-4000-8000-000000000001", userId: "u", status: "uploading", title: null, sourcePath,
  slotId: null, slotDate: null, createdAt: DateTime.now(), claimedAt: null, startedAt: null, finishedAt: null,
  attempts: 1, lastError: null, lastOutcome: null, worker: null, remoteId: null, remoteUrl: null, bytesSent: null, bytesTotal: null, resumeState: null, freeAttempts: 0, metadata: null, destination: null, notBefore: null, queuePriority: 0, timeZone: "UTC",
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

t.test("SOURCE_ROOTS: only files under them are read, through symbolic links too", async (t) => {
  const dir = t.testdir({ media: { "clip.mp4": "frames", inner: {} }, secrets: { "key.pem": "secret" }, uploads: {} });
  symlinkSync(path.join(dir, "secrets", "key.pem"), path.join(dir, "media", "inner", "innocent.mp4"));
  const upload = localDestination(path.join(dir, "uploads"), [path.join(dir, "media")]);
  t.equal(readFileSync(((await upload(video(path.join(dir, "media", "clip.mp4")), context())) as { path: string }).path, "utf8"), "frames", "a file under a root is copied");
  await t.rejects(upload(video(path.join(dir, "secrets", "key.pem")), context()), /key\.pem of video .* is outside SOURCE_ROOTS \(.*media\): the built-in destination reads only files under them/);
  await t.rejects(upload(video(path.join(dir, "media", "..", "secrets", "key.pem")), context()), /outside SOURCE_ROOTS/, "nor through ..");
  await t.rejects(upload(video(path.join(dir, "media", "inner", "innocent.mp4")), context()), /innocent\.mp4 of video .* is outside SOURCE_ROOTS/, "nor through a link");
  t.same(readdirSync(path.join(dir, "uploads")), [`${video(null).id}.mp4`], "nothing else was copied");
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

t.test("a copy called off while it is verified never appears under its final name", async (t) => {
  const dir = t.testdir({ uploads: {} });
  const source = path.join(dir, "big.bin");
  const size = 128 * 1024 * 1024;
  writeFileSync(source, Buffer.alloc(size, "v"));
  const uploads = path.join(dir, "uploads");
  const controller = new AbortController();
  const upload = localDestination(uploads)(video(source), { ...context(), signal: controller.signal });
  // Once the partial copy is complete, the copy is being verified: call it off then.
  for (;;) {
    const partial = readdirSync(uploads).find((f) => f.endsWith(".partial"));
    if (partial && statSync(path.join(uploads, partial)).size === size) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, 20));
  controller.abort(new Error("upload timed out after 2 seconds"));
  await t.rejects(upload, /upload timed out after 2 seconds|aborted/);
  t.same(readdirSync(uploads), [], "no file, and no partial file");
});

t.test("the partial files of copies whose process died are removed at start, no one else's", async (t) => {
  const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
  const host = hostname();
  const dir = t.testdir({
    [`a.mp4.${dead}.partial`]: "",
    [`b.mp4.${dead}@${host}.partial`]: "",
    [`c.mp4.${process.pid}@${host}.partial`]: "",
    [`d.mp4.${dead}@another-host.example.com.partial`]: "",
    "e.mp4": "",
  });
  t.same((await removeStalePartials(dir)).sort(), [`a.mp4.${dead}.partial`, `b.mp4.${dead}@${host}.partial`]);
  t.same(readdirSync(dir).sort(), [`c.mp4.${process.pid}@${host}.partial`, `d.mp4.${dead}@another-host.example.com.partial`, "e.mp4"]);
  t.same(await removeStalePartials(path.join(dir, "missing")), [], "no folder, nothing to do");
});
