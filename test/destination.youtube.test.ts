// The built-in YouTube destination against a local STAND-IN for YouTube (test/fixtures/youtube-standin.ts):
// YouTube cannot be reached from here, so a node:http server follows the documented resumable
// upload protocol and OAuth refresh in its place. What arrives is the file with its metadata, a
// killed or failed upload continues from the session's Range, the fence keeps the last chunk back,
// and each of YouTube's documented refusals becomes the error the runner acts on.
import t from "tap";
import path from "node:path";
import { rmSync, writeFileSync } from "node:fs";
import { DateTime } from "luxon";
import { mediaProccess, nextPacificMidnight, reconcile, type YouTubeResumeState } from "../src/media/destinations/youtube.js";
import { NeedsReconnect, PermanentFailure, RetryLater } from "../src/media/errors.js";
import { CHUNK_UNIT, youtubeStandIn } from "./fixtures/youtube-standin.js";
import { MiB, randomFile, recordingContext, runInChild, scratch, videoFor } from "./fixtures/destinations.js";

const CHUNK = 4 * CHUNK_UNIT;

t.test("stand-in: uploads a file; the stand-in holds exactly its bytes, with the video's metadata", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "trailer.mp4");
  const size = 5 * MiB + 1234;
  const sha = await randomFile(file, size);
  const video = videoFor(file, {
    metadata: { description: "The launch", tags: ["launch", "trailer"], categoryId: 22, privacyStatus: "unlisted" },
  });
  const context = recordingContext({ ...youtube.env, YOUTUBE_CHUNK_SIZE: String(CHUNK) });

  const result = await mediaProccess(video, context);

  const [session] = youtube.sessions;
  t.equal(youtube.sessions.length, 1, "one session");
  t.same(result, { remoteId: session!.videoId, remoteUrl: `https://www.youtube.com/watch?v=${session!.videoId}` });
  t.equal(await youtube.sha256(session!), sha, "the stand-in's copy has the source's SHA-256");
  t.equal(session!.arrived, size, "every byte was sent once");
  t.same(session!.resource, {
    snippet: { title: "Launch trailer", description: "The launch", tags: ["launch", "trailer"], categoryId: "22" },
    status: { privacyStatus: "unlisted" },
  }, "title from the row, the rest from videos.metadata");
  t.equal(session!.contentType, "video/mp4");
  t.same(context.checkpoints, [{ sessionUri: context.checkpoints[0] && (context.checkpoints[0] as YouTubeResumeState).sessionUri, size }]);
  t.match((context.checkpoints[0] as YouTubeResumeState).sessionUri, /upload_id=/, "the session URI was checkpointed");
  t.equal(context.fences, 1, "the fence was asked once, before the last chunk");
  t.same(context.progressed.at(-1), [size, size]);
  const chunks = youtube.requests.filter((r) => r.kind === "chunk").map((r) => r.contentRange);
  t.equal(chunks.length, 6, "in chunks of YOUTUBE_CHUNK_SIZE");
  t.equal(chunks.at(-1), `bytes ${5 * CHUNK}-${size - 1}/${size}`, "the last one smaller");
});

t.test("stand-in: with publishAt the video is private until then, and the metadata title wins", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "teaser.mov");
  await randomFile(file, 1000);
  const video = videoFor(file, { metadata: { title: "Teaser", privacyStatus: "public", publishAt: "2026-12-01T18:00:00+01:00" } });
  const context = recordingContext(youtube.env);
  await mediaProccess(video, context);
  t.same(youtube.sessions[0]!.resource, { snippet: { title: "Teaser" }, status: { privacyStatus: "private", publishAt: "2026-12-01T17:00:00.000Z" } });
  t.equal(youtube.sessions[0]!.contentType, "video/quicktime");
  t.match(context.logged, [{ msg: "youtube: publishAt is set, so privacyStatus is private until then" }]);

  await mediaProccess(videoFor(file, { title: null, metadata: null }), recordingContext(youtube.env));
  t.same(youtube.sessions[1]!.resource, { snippet: { title: "teaser" }, status: { privacyStatus: "private" } }, "no title anywhere: the file's name; private unless told otherwise");
});

t.test("stand-in: an upload killed with SIGKILL halfway continues from the session's Range on the next attempt", async (t) => {
  const youtube = await youtubeStandIn(t);
  const dir = scratch(t);
  const file = path.join(dir, "feature.mp4");
  const size = 64 * MiB + 17;
  const chunk = MiB;
  const sha = await randomFile(file, size);
  const job = {
    destination: "youtube" as const,
    video: { id: videoFor(file).id, title: "feature", source_path: file },
    env: { ...youtube.env, YOUTUBE_CHUNK_SIZE: String(chunk) },
    stateFile: path.join(dir, "checkpoint.json"),
  };
  const first = runInChild(job);
  t.teardown(first.kill);
  await youtube.arrivedAtLeast(size / 2);
  await first.kill();
  const [session] = youtube.sessions;
  t.ok(session!.kept < size, `killed halfway (${session!.kept} of ${size} bytes kept)`);

  const requestsBefore = youtube.requests.length;
  const second = runInChild(job);
  t.teardown(second.kill);
  const outcome = await second.waitFor("result");
  t.same(outcome.value, { remoteId: session!.videoId, remoteUrl: `https://www.youtube.com/watch?v=${session!.videoId}` });
  t.equal(youtube.sessions.length, 1, "the same session");
  const resumed = youtube.requests.slice(requestsBefore).filter((r) => r.kind !== "token");
  t.equal(resumed[0]!.kind, "status", "the second attempt asked the session where it was");
  t.ok(session!.arrived - size <= chunk, `at most one chunk was sent twice (${session!.arrived - size} bytes)`);
  t.equal(await youtube.sha256(session!), sha);
});

t.test("stand-in: a failed chunk (503) is retried from the session's Range within the attempt", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "clip.mp4");
  const size = 3 * CHUNK + 5;
  const sha = await randomFile(file, size);
  const context = recordingContext(
    { ...youtube.env, YOUTUBE_CHUNK_SIZE: String(CHUNK), YOUTUBE_RETRY_DELAYS: "0" },
    { checkpoint: async () => youtube.script({ on: "chunk", status: 503 }) },
  );
  await mediaProccess(videoFor(file), context);
  const kinds = youtube.requests.filter((r) => r.kind !== "token").map((r) => `${r.kind} ${r.status}`);
  t.same(kinds.slice(0, 4), ["create 200", "chunk 503", "status 308", "chunk 308"], "503, then a status query, then on");
  t.equal(await youtube.sha256(youtube.sessions[0]!), sha);
  t.match(context.logged, [{ msg: "youtube: retrying after a transient failure" }]);

  t.test("without retries left, the attempt fails with a plain Error, and the next continues from the Range", async (t) => {
    const next = path.join(scratch(t), "next.mp4");
    const nextSha = await randomFile(next, size);
    const env = { ...youtube.env, YOUTUBE_CHUNK_SIZE: String(CHUNK), YOUTUBE_RETRY_DELAYS: "none" };
    let chunks = 0;
    const failing = recordingContext(env, { checkpoint: async () => {} });
    failing.progress = () => {
      if (++chunks === 2) youtube.script({ on: "chunk", status: 500 });
    };
    const error = await mediaProccess(videoFor(next), failing).catch((e: unknown) => e);
    t.equal((error as Error).constructor, Error);
    t.match(error, { message: /the YouTube upload of video .* failed: YouTube answered 500 backendError to PUT .*\(bytes 2097152-3145727\/3145733\): Backend Error/ });
    const session = youtube.sessions.at(-1)!;
    t.equal(session.kept, 2 * CHUNK);
    const resumed = recordingContext(env, { resume: failing.checkpoints[0] });
    await mediaProccess(videoFor(next), resumed);
    t.equal(session.arrived, size, "nothing was sent twice");
    t.equal(await youtube.sha256(session), nextSha);
    t.equal(youtube.sessions.at(-1), session, "in the same session");
  });
});

t.test("stand-in: a fence that throws stops the upload before its last chunk; the video is never completed", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "clip.mp4");
  const size = 2 * CHUNK + 9;
  await randomFile(file, size);
  const context = recordingContext({ ...youtube.env, YOUTUBE_CHUNK_SIZE: String(CHUNK) }, { fence: () => Promise.reject(new Error("lease lost")) });
  await t.rejects(mediaProccess(videoFor(file), context), /the YouTube upload of video .* stopped before its last chunk: this attempt no longer holds its lease \(lease lost\)/);
  t.equal(youtube.sessions[0]!.kept, 2 * CHUNK, "the last chunk was never sent");
  t.equal(youtube.sessions[0]!.videoId, null, "no video was made");
  t.equal(await reconcile(videoFor(file), recordingContext(youtube.env, { resume: context.checkpoints[0] })), "not-done", "reconcile: not done");

  const next = recordingContext({ ...youtube.env, YOUTUBE_CHUNK_SIZE: String(CHUNK) }, { resume: context.checkpoints[0] });
  const result = await mediaProccess(videoFor(file), next);
  t.equal(youtube.sessions[0]!.arrived, size, "the next attempt sent only the last chunk");
  const arrived = youtube.sessions[0]!.arrived;
  t.same(await reconcile(videoFor(file), recordingContext(youtube.env, { resume: context.checkpoints[0] })), { status: "done", value: result }, "reconcile: done, with the video");
  t.equal(youtube.sessions[0]!.arrived, arrived, "reconcile sent nothing");
  t.same(await mediaProccess(videoFor(file), recordingContext(youtube.env, { resume: context.checkpoints[0] })), result, "an attempt after completion only asks, and gets the video");
  t.equal(youtube.sessions.length, 1);
});

t.test("stand-in: an abort signal stops the upload, and says it was aborted", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 32 * MiB);
  const controller = new AbortController();
  const upload = mediaProccess(videoFor(file), recordingContext({ ...youtube.env, YOUTUBE_CHUNK_SIZE: String(CHUNK) }, { signal: controller.signal }));
  await youtube.arrivedAtLeast(2 * CHUNK);
  controller.abort(new Error("shutting down"));
  await t.rejects(upload, /the YouTube upload of video .* was aborted: shutting down/);
  t.equal(youtube.sessions[0]!.videoId, null);
});

t.test("stand-in: YouTube's refusals become the error the runner acts on", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 1000);
  const env = { ...youtube.env, YOUTUBE_RETRY_DELAYS: "none" };
  const attempt = () => mediaProccess(videoFor(file), recordingContext(env));

  t.test("quotaExceeded: RetryLater at the next midnight in Los Angeles", async (t) => {
    youtube.script({ on: "create", status: 403, reason: "quotaExceeded" });
    const error = (await attempt().catch((e: unknown) => e)) as RetryLater;
    t.type(error, RetryLater);
    t.match(error.message, /daily YouTube quota is used up; it starts again at midnight Pacific time/);
    const until = DateTime.fromJSDate(error.until!).setZone("America/Los_Angeles");
    t.equal(until.toFormat("HH:mm:ss.SSS"), "00:00:00.000", "midnight in Los Angeles");
    t.ok(until.toMillis() > Date.now() && until.toMillis() <= DateTime.now().setZone("America/Los_Angeles").plus({ days: 1 }).toMillis(), "the next one");
  });
  t.test("uploadLimitExceeded: RetryLater in 24 hours", async (t) => {
    youtube.script({ on: "create", status: 400, reason: "uploadLimitExceeded" });
    const before = Date.now();
    const error = (await attempt().catch((e: unknown) => e)) as RetryLater;
    t.type(error, RetryLater);
    t.ok(error.until!.getTime() >= before + 86_400_000 && error.until!.getTime() <= Date.now() + 86_400_000);
  });
  t.test("rateLimitExceeded or 429: RetryLater after Retry-After", async (t) => {
    youtube.script({ on: "create", status: 429, reason: "rateLimitExceeded", headers: { "Retry-After": "30" } });
    const before = Date.now();
    const error = (await attempt().catch((e: unknown) => e)) as RetryLater;
    t.type(error, RetryLater);
    t.ok(error.until!.getTime() >= before + 30_000 && error.until!.getTime() <= Date.now() + 30_000);
  });
  t.test("invalid metadata (400 invalidTitle, the stand-in's own check): PermanentFailure", async (t) => {
    const error = await mediaProccess(videoFor(file, { title: "<script>" }), recordingContext(env)).catch((e: unknown) => e);
    t.type(error, PermanentFailure);
    t.match(error, { message: /YouTube will not take this video as it is; fix its metadata or file \(YouTube answered 400 invalidTitle to POST .*: The request metadata specifies an invalid or empty video title\.\)/ });
  });
  for (const reason of ["invalidDescription", "invalidTags", "invalidCategoryId", "invalidPublishAt", "mediaBodyRequired", "somethingNew"]) {
    t.test(`400 ${reason}: PermanentFailure`, async (t) => {
      youtube.script({ on: "create", status: 400, reason });
      await t.rejects(attempt(), PermanentFailure);
    });
  }
  t.test("401 once (an expired access token): refreshed, and the upload goes on", async (t) => {
    const file2 = path.join(scratch(t), "long.mp4");
    const sha = await randomFile(file2, 3 * CHUNK);
    const issued = youtube.tokensIssued();
    const context = recordingContext({ ...env, YOUTUBE_CHUNK_SIZE: String(CHUNK) }, { checkpoint: async () => youtube.expireTokens() });
    const result = await mediaProccess(videoFor(file2), context);
    t.equal(youtube.tokensIssued(), issued + 2, "one more token, after the 401");
    t.equal(await youtube.sha256(youtube.sessions.find((s) => s.videoId === result.remoteId)!), sha);
  });
  t.test("401 after one refresh: NeedsReconnect", async (t) => {
    youtube.script({ on: "create", status: 401, times: 2 });
    const issued = youtube.tokensIssued();
    const error = await attempt().catch((e: unknown) => e);
    t.type(error, NeedsReconnect);
    t.match(error, { message: /YouTube refused a freshly refreshed access token \(401 authError: Invalid Credentials\); reconnect the YouTube channel/ });
    t.equal(youtube.tokensIssued(), issued + 2, "it refreshed once before giving up");
  });
  t.test("a refresh token the token endpoint refuses: NeedsReconnect", async (t) => {
    const error = await mediaProccess(videoFor(file), recordingContext({ ...env, YOUTUBE_REFRESH_TOKEN: "revoked" })).catch((e: unknown) => e);
    t.type(error, NeedsReconnect);
    t.match(error, { message: /the OAuth token endpoint refused the refresh token \(400 invalid_grant: Token has been expired or revoked\.\); reconnect the YouTube channel/ });
  });
  t.test("403 forbidden: NeedsReconnect", async (t) => {
    youtube.script({ on: "create", status: 403, reason: "forbidden" });
    await t.rejects(attempt(), NeedsReconnect);
  });
  t.test("a 5xx, and a token endpoint that fails: plain Errors (transient)", async (t) => {
    youtube.script({ on: "create", status: 503, reason: "backendError" });
    const error = await attempt().catch((e: unknown) => e);
    t.equal((error as Error).constructor, Error);
    youtube.script({ on: "token", status: 500 });
    const tokenError = await attempt().catch((e: unknown) => e);
    t.equal((tokenError as Error).constructor, Error);
    t.match(tokenError, { message: /failed: YouTube answered 500 server_error to POST .*\/token/ });
  });
  t.test("nobody listening: a plain Error that says so", async (t) => {
    const error = await mediaProccess(videoFor(file), recordingContext({ ...env, YOUTUBE_TOKEN_URL: "http://127.0.0.1:1/token" })).catch((e: unknown) => e);
    t.equal((error as Error).constructor, Error);
    t.match(error, { message: /failed: POST http:\/\/127\.0\.0\.1:1\/token did not get an answer \(.*ECONNREFUSED/ });
  });
});

t.test("stand-in: an expired session (404) is replaced by a new one", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "clip.mp4");
  const size = 3 * CHUNK;
  const sha = await randomFile(file, size);
  const env = { ...youtube.env, YOUTUBE_CHUNK_SIZE: String(CHUNK) };

  const context = recordingContext(env, { fence: () => Promise.reject(new Error("lease lost")) });
  await t.rejects(mediaProccess(videoFor(file), context));
  youtube.expireSession(youtube.sessions[0]!);
  const next = recordingContext(env, { resume: context.checkpoints[0] });
  await mediaProccess(videoFor(file), next);
  t.equal(youtube.sessions.length, 2, "a new session after the status query's 404");
  t.equal(await youtube.sha256(youtube.sessions[1]!), sha);
  t.equal(await reconcile(videoFor(file), recordingContext(env, { resume: context.checkpoints[0] })), "not-done", "reconcile on an expired session: not done");

  t.test("and one that expires midway too", async (t) => {
    const midway = recordingContext(env, {
      checkpoint: async () => {
        setImmediate(() => youtube.expireSession(youtube.sessions.at(-1)!));
      },
    });
    midway.progress = () => youtube.expireSession(youtube.sessions.at(-1)!);
    const error = await mediaProccess(videoFor(file), midway).catch((e: unknown) => e);
    t.match(error, { message: /YouTube forgot the upload session \(404\) twice in one attempt/ }, "but not forever");
    t.match(midway.logged, [{ msg: "youtube: the upload session expired; starting a new one" }]);
  });
});

t.test("stand-in: reconcile", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 1000);
  t.equal(await reconcile(videoFor(file), recordingContext(youtube.env)), "not-done", "no checkpoint: nothing was ever sent");
  const done = recordingContext(youtube.env);
  const result = await mediaProccess(videoFor(file), done);
  youtube.script({ on: "status", status: 503 });
  const unsure = recordingContext(youtube.env, { resume: done.checkpoints[0] });
  t.equal(await reconcile(videoFor(file), unsure), "unknown", "a 5xx: cannot tell");
  t.match(unsure.logged, [{ msg: "youtube reconcile: cannot tell" }]);
  t.equal(await reconcile(videoFor(file), recordingContext({ ...youtube.env, YOUTUBE_TOKEN_URL: "http://127.0.0.1:1/token" }, { resume: done.checkpoints[0] })), "unknown", "no token: cannot tell");
  t.same(await reconcile(videoFor(file), recordingContext(youtube.env, { resume: done.checkpoints[0] })), { status: "done", value: result });
});

t.test("stand-in: settings, metadata and source errors say what to fix, before anything is sent", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "clip.mp4");
  writeFileSync(file, "frames");
  const attempt = (env: Record<string, string>, video = videoFor(file)) => mediaProccess(video, recordingContext(env));
  await t.rejects(attempt({}), /YOUTUBE_CLIENT_ID, YOUTUBE_CLIENT_SECRET, YOUTUBE_REFRESH_TOKEN are not set: the YouTube destination needs/);
  await t.rejects(attempt({ ...youtube.env, YOUTUBE_REFRESH_TOKEN: " " }), /^YOUTUBE_REFRESH_TOKEN is not set/);
  await t.rejects(attempt({ ...youtube.env, YOUTUBE_CHUNK_SIZE: "100000" }), /YOUTUBE_CHUNK_SIZE must be a whole number of bytes, at least 262144 \(256 KiB; it is rounded down to a multiple of 256 KiB, as YouTube requires\); it is "100000"/);
  await t.rejects(attempt({ ...youtube.env, YOUTUBE_API_BASE: "googleapis" }), /YOUTUBE_API_BASE must be an http\(s\) URL/);
  await t.rejects(attempt({ ...youtube.env, YOUTUBE_RETRY_DELAYS: "-1" }), /YOUTUBE_RETRY_DELAYS must list milliseconds/);
  const permanent = async (metadata: unknown, message: RegExp) => {
    const error = await attempt(youtube.env, videoFor(file, { metadata: metadata as Record<string, unknown> })).catch((e: unknown) => e);
    t.type(error, PermanentFailure);
    t.match(error, { message });
  };
  await permanent(["title"], /videos\.metadata of video .*: must be a JSON object/);
  await permanent({ title: 3 }, /title must be text; it is 3/);
  await permanent({ description: false }, /description must be text/);
  await permanent({ tags: "a,b" }, /tags must be an array of text, e\.g\. \["trailer","launch"\]; it is "a,b"/);
  await permanent({ categoryId: {} }, /categoryId must be a YouTube category id such as "22"/);
  await permanent({ privacyStatus: "secret" }, /privacyStatus must be "private", "unlisted" or "public"; it is "secret"/);
  await permanent({ publishAt: "tomorrow" }, /publishAt must be an ISO 8601 instant such as "2026-12-01T18:00:00Z"; it is "tomorrow"/);
  const empty = path.join(path.dirname(file), "empty.mp4");
  writeFileSync(empty, "");
  await t.rejects(attempt(youtube.env, videoFor(empty)), new PermanentFailure(`the YouTube upload of video ${videoFor(empty).id}: the source file ${empty} is empty; YouTube takes no empty video`));
  t.equal(youtube.requests.length, 0, "nothing reached the stand-in");
  const chunked = recordingContext({ ...youtube.env, YOUTUBE_CHUNK_SIZE: String(CHUNK_UNIT + 1000) });
  await mediaProccess(videoFor(file), chunked);
  t.pass("a chunk size that is not a multiple of 256 KiB is rounded down, not refused");
});

t.test("nextPacificMidnight: the next midnight in Los Angeles, across clock changes", async (t) => {
  t.equal(nextPacificMidnight(new Date("2026-11-30T12:00:00Z")).toISOString(), "2026-12-01T08:00:00.000Z", "winter: UTC-8");
  t.equal(nextPacificMidnight(new Date("2026-07-01T06:59:59Z")).toISOString(), "2026-07-01T07:00:00.000Z", "summer: UTC-7, one second before");
  t.equal(nextPacificMidnight(new Date("2026-03-08T09:00:00Z")).toISOString(), "2026-03-09T07:00:00.000Z", "the day clocks go forward");
  t.equal(nextPacificMidnight(new Date("2026-11-01T07:30:00Z")).toISOString(), "2026-11-02T08:00:00.000Z", "the day clocks go back");
});

t.test("stand-in: what goes wrong on this side says so, and is not retried", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 2 * CHUNK);
  const env = { ...youtube.env, YOUTUBE_CHUNK_SIZE: String(CHUNK), YOUTUBE_RETRY_DELAYS: "0,0,0" };

  await t.rejects(
    mediaProccess(videoFor(file), recordingContext(env, { checkpoint: () => Promise.reject(new Error("database away")) })),
    /could not checkpoint its session URI, so it did not send the file: database away/,
  );
  t.equal(youtube.sessions[0]!.arrived, 0, "no byte was sent");

  await t.rejects(
    mediaProccess(videoFor(file), recordingContext(env, { checkpoint: async () => rmSync(file) })),
    /the YouTube upload of video .* could not read its source file: ENOENT/,
  );
  t.same(youtube.requests.filter((r) => r.kind === "chunk" || r.kind === "status"), [], "no chunk went, and no retry asked where the session was");
});

t.test("stand-in: an answer that is not Google's JSON is quoted, shortly", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 1000);
  youtube.script({ on: "create", status: 502, body: `<html><body>${"Bad Gateway ".repeat(100)}</body></html>` });
  const error = (await mediaProccess(videoFor(file), recordingContext({ ...youtube.env, YOUTUBE_RETRY_DELAYS: "none" })).catch((e: unknown) => e)) as Error;
  t.match(error.message, /failed: YouTube answered 502 to POST .*: <html><body>Bad Gateway Bad Gateway .*…$/);
  t.ok(error.message.length < 600, "not the whole page");
});

t.test("stand-in: an abort while waiting to retry ends the wait at once", async (t) => {
  const youtube = await youtubeStandIn(t);
  const file = path.join(scratch(t), "clip.mp4");
  await randomFile(file, 1000);
  youtube.script({ on: "create", status: 503 });
  const controller = new AbortController();
  const context = recordingContext({ ...youtube.env, YOUTUBE_RETRY_DELAYS: "3600000" }, { signal: controller.signal });
  const warn = context.logger.warn;
  context.logger.warn = (msg, fields) => {
    warn(msg, fields);
    controller.abort(new Error("shutting down"));
  };
  await t.rejects(mediaProccess(videoFor(file), context), /the YouTube upload of video .* was aborted: shutting down/);
});
