// The built-in tus destination against a real tus server (@tus/server with its FileStore) on
// 127.0.0.1: what arrives is the file, a killed upload resumes where the server is, the fence
// keeps the last chunk back, and each refusal becomes the error the runner acts on.
import t from "tap";
import { once } from "node:events";
import { rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { mediaProccess, reconcile, type TusResumeState } from "../src/media/destinations/tus.js";
import { NeedsReconnect, PermanentFailure, RetryLater } from "../src/media/errors.js";
import { tusServer } from "./fixtures/tus-server.js";
import { MiB, randomFile, recordingContext, runInChild, scratch, videoFor } from "./fixtures/destinations.js";

t.test("uploads a file: the server stores exactly its bytes, with its name, title and id", async (t) => {
  const server = await tusServer(t);
  const file = path.join(scratch(t), "trailer.mp4");
  const size = 5 * MiB + 123;
  const sha = await randomFile(file, size);
  const context = recordingContext({ TUS_ENDPOINT: server.endpoint, TUS_CHUNK_SIZE: String(MiB), TUS_HEADERS: '{"Authorization":"Bearer secret"}' });

  const result = await mediaProccess(videoFor(file), context);

  const [id] = server.uploads();
  t.same(server.uploads(), [id], "one upload was made");
  t.same(result, { remoteId: id, remoteUrl: `${server.endpoint}${id}` }, "it resolves to what the server named the upload");
  t.ok(server.completed(id!), "the server has all of it");
  t.equal(await server.sha256(id!), sha, "the stored file's SHA-256 is the source's");
  t.equal(server.received(id), size, "every byte was sent once");
  t.match(await server.metadata(id!), { filename: "trailer.mp4", title: "Launch trailer", video_id: videoFor(file).id });
  t.ok(server.requests.every((r) => r.headers.authorization === "Bearer secret"), "TUS_HEADERS go with every request");
  t.same(context.checkpoints, [{ uploadUrl: result.remoteUrl, endpoint: server.endpoint, size }], "the upload's URL was checkpointed");
  t.equal(context.fences, 1, "the fence was asked once, before the last chunk");
  t.same(context.progressed.at(-1), [size, size], "progress ends at the whole file");
  t.ok(context.progressed.every(([sent], i) => i === 0 || sent >= context.progressed[i - 1]![0]), "progress never goes back");
});

t.test("a fence that throws stops the upload before its last chunk; the server never completes it", async (t) => {
  const server = await tusServer(t);
  const file = path.join(scratch(t), "clip.mp4");
  const size = 4 * MiB + 10;
  await randomFile(file, size);
  const context = recordingContext(
    { TUS_ENDPOINT: server.endpoint, TUS_CHUNK_SIZE: String(MiB) },
    { fence: async () => Promise.reject(new Error("lease lost to worker b:42")) },
  );
  await t.rejects(mediaProccess(videoFor(file), context), /stopped before its last chunk: this attempt no longer holds its lease \(lease lost to worker b:42\)/);
  const [id] = server.uploads();
  t.notOk(server.completed(id!), "the upload is incomplete at the server");
  t.equal(server.received(id), 4 * MiB, "the last chunk was never sent");
  t.notOk(server.requests.some((r) => r.method === "PATCH" && r.offset === 4 * MiB), "no request carried the last chunk");

  t.test("the next attempt continues from the server's offset and sends only what was missing", async (t) => {
    const next = recordingContext({ TUS_ENDPOINT: server.endpoint, TUS_CHUNK_SIZE: String(MiB) }, { resume: context.checkpoints.at(-1) });
    const result = await mediaProccess(videoFor(file), next);
    t.equal(result.remoteId, id, "the same upload");
    t.same(server.uploads(), [id], "no new upload was made");
    t.equal(server.received(id), size, "no byte was sent twice");
    t.ok(server.completed(id!));
    t.same(next.checkpoints, [], "nothing new to checkpoint");
  });
});

t.test("an upload killed with SIGKILL halfway resumes on the next attempt from the server's offset, re-sending at most one chunk", async (t) => {
  const server = await tusServer(t);
  const dir = scratch(t);
  const file = path.join(dir, "feature.mp4");
  const size = 200 * MiB;
  const chunk = 8 * MiB;
  const sha = await randomFile(file, size);
  const job = {
    destination: "tus" as const,
    video: { id: videoFor(file).id, title: "feature", source_path: file },
    env: { TUS_ENDPOINT: server.endpoint },
    stateFile: path.join(dir, "checkpoint.json"),
  };

  const first = runInChild(job);
  t.teardown(first.kill);
  await server.receivedAtLeast(size / 2);
  await first.kill();
  const [id] = server.uploads();
  const before = server.received(id);
  t.ok(before >= size / 2 && before < size, `the first attempt was killed halfway (${before} of ${size} bytes)`);
  t.notOk(server.completed(id!));

  const second = runInChild(job);
  t.teardown(second.kill);
  const outcome = await second.waitFor("result");
  t.same(outcome.value, { remoteId: id, remoteUrl: `${server.endpoint}${id}` });
  t.same(server.uploads(), [id], "the second attempt continued the same upload");
  const resent = server.received(id) - size;
  t.ok(resent >= 0 && resent <= chunk, `at most one chunk was sent twice (${resent} bytes)`);
  const secondRequests = server.requests.slice(server.requests.findIndex((r) => r.method === "HEAD"));
  t.equal(secondRequests[0]?.method, "HEAD", "it asked the server's offset first");
  t.notOk(secondRequests.some((r) => r.method === "POST"), "and created nothing");
  t.ok(server.completed(id!));
  t.equal(await server.sha256(id!), sha, "the stored file's SHA-256 is the source's");
});

t.test("an abort signal stops the upload promptly, and says it was aborted", async (t) => {
  const server = await tusServer(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 64 * MiB);
  const controller = new AbortController();
  const context = recordingContext({ TUS_ENDPOINT: server.endpoint, TUS_CHUNK_SIZE: String(MiB) }, { signal: controller.signal });
  const upload = mediaProccess(videoFor(file), context);
  await server.receivedAtLeast(2 * MiB);
  controller.abort(new Error("upload timed out after 30 minutes"));
  await t.rejects(upload, /the tus upload of video .* was aborted: upload timed out after 30 minutes/);
  const [id] = server.uploads();
  t.notOk(server.completed(id!), "the server did not get the whole file");
  t.equal(context.fences, 0, "it never came near the last chunk");

  await t.rejects(mediaProccess(videoFor(file), context), /timed out/, "an upload whose signal already fired does not start");
});

t.test("a signal that fires while the fence is asked: the last chunk is not sent, even when the fence then holds", async (t) => {
  const server = await tusServer(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 2 * MiB);
  const controller = new AbortController();
  const context = recordingContext(
    { TUS_ENDPOINT: server.endpoint, TUS_CHUNK_SIZE: String(MiB) },
    { signal: controller.signal, fence: async () => controller.abort(new Error("worker shutting down")) },
  );
  await t.rejects(mediaProccess(videoFor(file), context), /was aborted: worker shutting down/);
  t.equal(server.received(), MiB, "only the first chunk arrived");
  t.notOk(server.requests.some((r) => r.method === "PATCH" && r.offset === MiB));
});

t.test("a server that breaks the protocol: a plain Error that says what went wrong", async (t) => {
  // Not a tus server: it creates uploads, then answers PATCH without the offset it reached.
  const broken = http.createServer((req, res) => {
    req.resume();
    if (req.method === "POST") res.writeHead(201, { Location: "/files/abc" }).end();
    else res.writeHead(204).end();
  });
  broken.listen(0, "127.0.0.1");
  await once(broken, "listening");
  t.teardown(() => new Promise((resolve) => broken.close(resolve)));
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 1000);
  const endpoint = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/files/`;
  const error = await mediaProccess(videoFor(file), recordingContext({ TUS_ENDPOINT: endpoint, TUS_RETRY_DELAYS: "none" })).catch((e: unknown) => e);
  t.equal((error as Error).constructor, Error);
  t.match(error, { message: /the tus upload of video .* failed: tus: invalid or missing offset value \(PATCH http:.*\/files\/abc answered 204\)$/ });
});

t.test("refusals become the error the runner acts on", async (t) => {
  const server = await tusServer(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 3 * MiB);
  const env = { TUS_ENDPOINT: server.endpoint, TUS_CHUNK_SIZE: String(MiB), TUS_RETRY_DELAYS: "none" };
  const attempt = () => mediaProccess(videoFor(file), recordingContext(env));

  t.test("429 with Retry-After in seconds: RetryLater until then", async (t) => {
    server.refuseNext(1, 429, { "Retry-After": "120" });
    const before = Date.now();
    const error = await attempt().catch((e: unknown) => e);
    t.type(error, RetryLater);
    t.match(error, { message: /the tus server answered 429 to POST .*: try again after/ });
    const until = (error as RetryLater).until!.getTime();
    t.ok(until >= before + 120_000 && until <= Date.now() + 120_000, "until is 120 seconds after the answer");
  });
  t.test("503 with Retry-After as an HTTP date: RetryLater until that date", async (t) => {
    const date = new Date(Date.now() + 3_600_000);
    date.setMilliseconds(0);
    server.refuseNext(1, 503, { "Retry-After": date.toUTCString() });
    const error = await attempt().catch((e: unknown) => e);
    t.type(error, RetryLater);
    t.equal((error as RetryLater).until!.getTime(), date.getTime());
  });
  t.test("429 without Retry-After: RetryLater a minute later", async (t) => {
    server.refuseNext(1, 429);
    const before = Date.now();
    const error = (await attempt().catch((e: unknown) => e)) as RetryLater;
    t.type(error, RetryLater);
    t.ok(error.until!.getTime() >= before + 60_000 && error.until!.getTime() <= Date.now() + 60_000);
  });
  t.test("a 429 in the middle of the upload: RetryLater, and the next attempt resumes", async (t) => {
    const context = recordingContext(env, {
      checkpoint: async () => server.refuseNext(1, 429, { "Retry-After": "5" }),
    });
    await t.rejects(mediaProccess(videoFor(file), context), RetryLater);
    const next = recordingContext(env, { resume: context.checkpoints[0] });
    const result = await mediaProccess(videoFor(file), next);
    t.equal(result.remoteUrl, (context.checkpoints[0] as TusResumeState).uploadUrl, "the same upload, continued");
  });
  for (const status of [401, 403]) {
    t.test(`${status}: NeedsReconnect`, async (t) => {
      server.refuseNext(1, status);
      await t.rejects(attempt(), new NeedsReconnect(`the tus server answered ${status} to POST ${server.endpoint}: it refused the credentials; renew them in TUS_HEADERS (refused by the test (${status}))`));
    });
  }
  for (const status of [400, 413, 415]) {
    t.test(`${status}: PermanentFailure`, async (t) => {
      server.refuseNext(1, status);
      const error = await attempt().catch((e: unknown) => e);
      t.type(error, PermanentFailure);
      t.match(error, { message: new RegExp(`answered ${status} to POST .*: it will not take this file as it is`) });
    });
  }
  t.test("a 500 is transient: a plain Error, after the retries within the attempt", async (t) => {
    server.refuseNext(2, 500);
    const error = await mediaProccess(videoFor(file), recordingContext({ ...env, TUS_RETRY_DELAYS: "0" })).catch((e: unknown) => e);
    t.equal((error as Error).constructor, Error);
    t.match(error, { message: /the tus upload of video .* failed: the tus server answered 500 to POST/ });
  });
  t.test("a 500 the retry gets past: the upload succeeds", async (t) => {
    server.refuseNext(1, 500);
    const result = await mediaProccess(videoFor(file), recordingContext({ ...env, TUS_RETRY_DELAYS: "0" }));
    t.ok(server.completed(result.remoteId));
  });
  t.test("a server that is not there: a plain Error that says so", async (t) => {
    const error = await mediaProccess(videoFor(file), recordingContext({ ...env, TUS_ENDPOINT: "http://127.0.0.1:1/files/" })).catch((e: unknown) => e);
    t.equal((error as Error).constructor, Error);
    t.match(error, { message: /failed: POST http:\/\/127\.0\.0\.1:1\/files\/ did not get an answer \(.*ECONNREFUSED/ });
  });
});

t.test("reconcile asks the server about the checkpointed upload", async (t) => {
  const server = await tusServer(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 3 * MiB);
  const env = { TUS_ENDPOINT: server.endpoint, TUS_CHUNK_SIZE: String(MiB) };

  const done = recordingContext(env);
  const result = await mediaProccess(videoFor(file), done);
  const received = server.received();
  t.same(await reconcile(videoFor(file), recordingContext(env, { resume: done.checkpoints[0] })), { status: "done", value: result }, "complete: done, with the upload");
  t.equal(server.received(), received, "zero bytes were sent again");

  const half = recordingContext(env, { fence: () => Promise.reject(new Error("lease lost")) });
  await t.rejects(mediaProccess(videoFor(file), half));
  t.equal(await reconcile(videoFor(file), recordingContext(env, { resume: half.checkpoints[0] })), "not-done", "half uploaded: not done");

  t.equal(await reconcile(videoFor(file), recordingContext(env)), "not-done", "no checkpoint: no upload was ever made");
  const gone = { uploadUrl: `${server.endpoint}0123456789abcdef`, endpoint: server.endpoint, size: 3 * MiB };
  t.equal(await reconcile(videoFor(file), recordingContext(env, { resume: gone })), "not-done", "the server does not know it (404)");
  server.refuseNext(1, 503);
  t.equal(await reconcile(videoFor(file), recordingContext(env, { resume: done.checkpoints[0] })), "unknown", "a 5xx: cannot tell");
  const nowhere = recordingContext(env, { resume: { ...gone, uploadUrl: "http://127.0.0.1:1/files/x" } });
  t.equal(await reconcile(videoFor(file), nowhere), "unknown", "no answer: cannot tell");
  t.match(nowhere.logged, [{ msg: "tus reconcile: the server did not answer" }]);
});

t.test("a checkpoint the server no longer knows, or of another file or server, starts a new upload", async (t) => {
  const server = await tusServer(t);
  const file = path.join(scratch(t), "clip.mp4");
  const sha = await randomFile(file, 2 * MiB);
  const env = { TUS_ENDPOINT: server.endpoint, TUS_CHUNK_SIZE: String(MiB) };
  for (const [why, resume] of [
    ["expired at the server (404)", { uploadUrl: `${server.endpoint}expired`, endpoint: server.endpoint, size: 2 * MiB }],
    ["of another size", { uploadUrl: `${server.endpoint}expired`, endpoint: server.endpoint, size: 1 }],
    ["of another server", { uploadUrl: "http://127.0.0.1:1/files/x", endpoint: "http://127.0.0.1:1/files/", size: 2 * MiB }],
    ["not a checkpoint of this destination", { offset: 3 }],
  ] as const) {
    const context = recordingContext(env, { resume });
    const result = await mediaProccess(videoFor(file), context);
    t.equal(await server.sha256(result.remoteId), sha, `resume ${why}: a new upload, complete`);
    t.same(context.checkpoints, [{ uploadUrl: result.remoteUrl, endpoint: server.endpoint, size: 2 * MiB }], "and its URL checkpointed");
  }
});

t.test("a checkpoint that cannot be kept stops the upload before any byte is sent", async (t) => {
  const server = await tusServer(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, MiB);
  const context = recordingContext({ TUS_ENDPOINT: server.endpoint }, { checkpoint: () => Promise.reject(new Error("database away")) });
  await t.rejects(mediaProccess(videoFor(file), context), /could not checkpoint its upload URL, so it did not send the file: database away/);
  t.equal(server.received(), 0);
});

t.test("a source file that vanishes mid-upload fails the upload, and says why", async (t) => {
  const server = await tusServer(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 2 * MiB);
  const context = recordingContext({ TUS_ENDPOINT: server.endpoint, TUS_CHUNK_SIZE: String(MiB) }, { checkpoint: async () => rmSync(file) });
  await t.rejects(mediaProccess(videoFor(file), context), /could not read its source file .*clip\.mp4: ENOENT/);
});

t.test("an empty file: created complete, after the fence", async (t) => {
  const server = await tusServer(t);
  const file = path.join(scratch(t), "empty.mp4");
  writeFileSync(file, "");
  const context = recordingContext({ TUS_ENDPOINT: server.endpoint });
  const result = await mediaProccess(videoFor(file), context);
  t.equal(context.fences, 1);
  t.ok(server.completed(result.remoteId));
  const fenced = recordingContext({ TUS_ENDPOINT: server.endpoint }, { fence: () => Promise.reject(new Error("lease lost")) });
  await t.rejects(mediaProccess(videoFor(file), fenced), /no longer holds its lease/);
  t.equal(server.uploads().length, 1, "the fenced attempt created nothing");
});

t.test("settings and source errors say what to fix", async (t) => {
  const file = path.join(scratch(t), "clip.mp4");
  writeFileSync(file, "frames");
  const attempt = (env: Record<string, string>, video = videoFor(file)) => mediaProccess(video, recordingContext(env));
  const endpoint = "http://127.0.0.1:1/files/";
  await t.rejects(attempt({}), /TUS_ENDPOINT is not set: set it to the URL of the server to upload to/);
  await t.rejects(attempt({ TUS_ENDPOINT: "files" }), /TUS_ENDPOINT must be an http\(s\) URL; it is "files"/);
  await t.rejects(attempt({ TUS_ENDPOINT: endpoint, TUS_CHUNK_SIZE: "8M" }), /TUS_CHUNK_SIZE must be a whole number of bytes, at least 1; it is "8M"\. Unset it for the default, 8388608\./);
  await t.rejects(attempt({ TUS_ENDPOINT: endpoint, TUS_HEADERS: "Authorization: x" }), /TUS_HEADERS is not JSON \(.*\): set it to a JSON object of header names and values/);
  await t.rejects(attempt({ TUS_ENDPOINT: endpoint, TUS_HEADERS: '["x"]' }), /TUS_HEADERS must be a JSON object whose values are strings/);
  await t.rejects(attempt({ TUS_ENDPOINT: endpoint, TUS_HEADERS: '{"X-Retries": 3}' }), /TUS_HEADERS must be a JSON object whose values are strings/);
  await t.rejects(attempt({ TUS_ENDPOINT: endpoint, TUS_RETRY_DELAYS: "soon" }), /TUS_RETRY_DELAYS must list milliseconds separated by commas/);
  await t.rejects(attempt({ TUS_ENDPOINT: endpoint }, videoFor(null as unknown as string)), /has no source file: set videos.source_path/);
  await t.rejects(attempt({ TUS_ENDPOINT: endpoint }, videoFor(file + ".missing")), /does not exist or cannot be read/);
  await t.rejects(attempt({ TUS_ENDPOINT: endpoint }, videoFor(path.dirname(file))), /is not a file/);
});

t.test("memory stays flat as the file grows: the uploading process's peak RSS", async (t) => {
  const server = await tusServer(t);
  const dir = scratch(t);
  const peak = async (size: number) => {
    const file = path.join(dir, `${size}.bin`);
    await randomFile(file, size);
    const child = runInChild({
      destination: "tus",
      video: { id: videoFor(file).id, title: null, source_path: file },
      env: { TUS_ENDPOINT: server.endpoint },
      stateFile: path.join(dir, `${size}.json`),
    });
    t.teardown(child.kill);
    t.ok((await child.waitFor("result")).value.remoteId, `${size / MiB} MiB uploaded`);
    return (await child.waitFor("rss")).maxRssBytes as number;
  };
  const small = await peak(16 * MiB);
  const large = await peak(320 * MiB);
  t.comment(`peak RSS: ${Math.round(small / MiB)} MiB for 16 MiB, ${Math.round(large / MiB)} MiB for 320 MiB`);
  t.ok(large < small + 48 * MiB, "20 times the file costs less than 48 MiB more");
  t.ok(large < 0.6 * 320 * MiB, "well under the file's size");
});
