// Exactly once at the destination. Three real workers upload through the built-in tus destination
// to a real tus server (@tus/server with its FileStore) on 127.0.0.1, on a throw-away PostgreSQL
// cluster of their own, while one fault at a time hits them: a worker paused past its lease, a
// network black hole between a worker and PostgreSQL, the database stopped while uploads complete,
// a full DATA_DIR, kill -9 mid-upload, kill -9 after the last byte. "Uploaded once" is counted
// where the uploads land, the tus server: every video is complete there exactly once, none is
// lost, and the work a faulty worker held is taken over within LEASE plus one tick.
//
// LEASE is 3 s and HEARTBEAT_EVERY 1 s here (1 minute and 10 s by default), so each outage is
// scaled with them: the 60 s database stop is 8 s here, nearly three leases.
import t, { type Test } from "tap";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, throwawayCluster, type Cluster } from "./fixtures/cluster.js";
import { countersDrift } from "./fixtures/scenario.js";
import { tusServer, type TusServer } from "./fixtures/tus-server.js";
import { PROJECT_ROOT } from "../src/db/migrate.js";
import { startWorker, waitFor, type WorkerProcess } from "./fixtures/worker.js";
import type { TestDatabase } from "./fixtures/db.js";

// Eight scenarios of three workers each: more than the default two minutes a test file gets.
t.setTimeout(360_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * The two destinations the pause and the black hole are tried with: the built-in tus destination,
 * which resumes the same upload (so the server itself refuses a second completion), and the same
 * made forgetful (every attempt a new upload), where only the fence prevents a second copy.
 */
const DESTINATIONS = [
  ["builtin:tus", "builtin:tus"],
  ["a destination that cannot resume", path.join(PROJECT_ROOT, "test/fixtures/media/tus-no-resume.mjs")],
] as const;
const LEASE_MS = 3000;
const CHUNK = 256 * 1024;
/** One tick: the test adds one every 500 ms while it waits, as the crontab would every minute. */
const TICK_MS = 500;

const ENV = {
  MEDIA_PROCESS_MODULE: "builtin:tus",
  TUS_CHUNK_SIZE: String(CHUNK),
  LEASE: "3 seconds",
  HEARTBEAT_EVERY: "1 second",
  UPLOAD_CONCURRENCY: "3",
  UPLOAD_TIMEOUT: "2 minutes",
  RETRY_FAILED_AFTER: "1 second",
  STALE_PENDING_AFTER: "20 seconds",
  MAX_ATTEMPTS: "10",
  SHUTDOWN_GRACE: "2 seconds",
};

interface Scene {
  db: TestDatabase;
  tus: TusServer;
  videos: string[];
  sizes: Map<string, number>;
  workers: WorkerProcess[];
  /** Adds a tick now, as the crontab would. */
  tick(): Promise<void>;
}

/** A user whose slot is open all day, `count` videos of 1 MiB each with their files, and a tus server whose PATCHes take 300 ms. */
async function scene(t: Test, cluster: Cluster, count: number, workerEnv: Array<Record<string, string>> = [{}, {}, {}]): Promise<Scene> {
  const db = await cluster.database(t);
  const tus = await tusServer(t);
  tus.delayPatches(300);
  const dir = mkdtempSync(path.join(tmpdir(), "upsched-sources-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [{ id: user }] = await db.q("insert into users (time_zone) values ('UTC') returning id");
  await db.q(
    `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads)
     select $1, d, '00:00', '23:59:59', 1000
     from unnest(array[to_char(now() at time zone 'UTC', 'FMday'), to_char((now() + interval '1 day') at time zone 'UTC', 'FMday')]) d`,
    [user],
  );
  const files = Array.from({ length: count }, (_, i) => {
    const file = path.join(dir, `video-${i}.mp4`);
    writeFileSync(file, randomBytes(4 * CHUNK + 1000 + i));
    return file;
  });
  const rows = await db.q(
    `insert into videos (user_id, title, source_path, created_at)
     select $1, 'video ' || o, f, now() + o * interval '1 millisecond' from unnest($2::text[]) with ordinality as x(f, o) returning id, source_path`,
    [user, files],
  );
  const sizes = new Map(rows.map((r: any) => [r.id, 4 * CHUNK + 1000 + Number(path.basename(r.source_path).match(/\d+/)![0])]));
  const workers = workerEnv.map((env) => startWorker(t, db, { ...ENV, TUS_ENDPOINT: tus.endpoint, ...env }));
  await waitFor("the workers to start", async () => workers.every((w) => w.events("worker_started").length > 0), 60_000);
  const tick = () => db.q("select graphile_worker.add_job('schedule_uploads')").then(() => {}, () => {});
  return { db, tus, videos: rows.map((r: any) => r.id), sizes, workers, tick };
}

/** The worker whose attempt is uploading a video now, once the tus server has some of its bytes. */
async function uploadingWorker(s: Scene, only?: WorkerProcess): Promise<{ worker: WorkerProcess; videoId: string }> {
  return waitFor("an upload to be under way at the tus server", async () => {
    const underWay = new Set<string>();
    for (const id of s.tus.uploads()) {
      if (s.tus.received(id) > 0 && !s.tus.completed(id)) underWay.add((await s.tus.metadata(id).catch(() => undefined))?.video_id ?? "");
    }
    const rows = await s.db.q(
      `select v.id, a.worker_pid from videos v join upload_attempts a on a.video_id = v.id and a.attempt = v.attempts
       where v.status = 'uploading' and a.outcome is null and v.id = any($1::uuid[])`,
      [[...underWay].filter(Boolean)],
    );
    for (const row of rows) {
      const worker = s.workers.find((w) => w.child.pid === row.worker_pid);
      if (worker && (!only || worker === only)) return { worker, videoId: row.id as string };
    }
    await s.tick();
    await sleep(100);
    return false;
  });
}

/** A video's attempts, in order, with how each ended. */
async function attemptsOf(s: Scene, videoId: string) {
  return s.db.q("select attempt, outcome, error from upload_attempts where video_id = $1 and started_at is not null order by attempt", [videoId]);
}

/** Ticks until every video is uploaded, then checks at the tus server that each is there exactly once. */
async function everyVideoOnceAtTheDestination(t: Test, s: Scene, ms = 90_000) {
  await waitFor("every video to be uploaded", async () => {
    const rows = await s.db.q("select status from videos").catch(() => []);
    if (rows.length && rows.every((r: any) => r.status === "success")) return true;
    await s.tick();
    await sleep(TICK_MS);
    return false;
  }, ms);
  const atServer = await s.tus.completedByVideo();
  const twice = [...atServer].filter(([, ids]) => ids.length > 1);
  t.same(twice, [], "no video is complete twice at the tus server");
  t.same([...atServer.keys()].sort(), [...s.videos].sort(), `all ${s.videos.length} videos are complete at the tus server: none lost`);
  const recorded = await s.db.q("select id, remote_id from videos");
  t.ok(recorded.every((r: any) => atServer.get(r.id)?.[0] === r.remote_id), "each video's remote_id is the upload the server completed");
  t.same(await countersDrift(s.db), [], "the counters equal a recount");
}

/** A TCP proxy to PostgreSQL that can black-hole its traffic: bytes are dropped both ways, and new connections hang. */
async function blackHoleProxy(t: Test, port: number) {
  let holed = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.on("data", (chunk) => void (holed || upstream.write(chunk)));
    upstream.on("data", (chunk) => void (holed || client.write(chunk)));
  });
  server.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  t.teardown(() => {
    for (const [a, b] of pairs) (a.destroy(), b.destroy());
    server.close();
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    blackHole: () => void (holed = true),
    /** The network is back: connections that lost bytes are broken for good, as after a real partition. */
    heal: () => {
      holed = false;
      for (const [a, b] of pairs) (a.destroy(), b.destroy());
    },
  };
}

t.test("exactly once at the destination, with three workers and the tus destination", async (t) => {
  const cluster = await throwawayCluster(t);

  for (const [name, module] of DESTINATIONS) {
  t.test(`${name}: a worker paused (SIGSTOP) past its lease, then continued: its uploads are taken over, and it completes none of them`, async (t) => {
    const s = await scene(t, cluster, 9, [{ MEDIA_PROCESS_MODULE: module }, { MEDIA_PROCESS_MODULE: module }, { MEDIA_PROCESS_MODULE: module }]);
    const { worker, videoId } = await uploadingWorker(s);
    worker.child.kill("SIGSTOP");
    t.teardown(() => void worker.child.kill("SIGCONT"));
    // Taken over while it is still paused: the sweep interrupts its lapsed attempt, another worker uploads it.
    await waitFor("another worker to finish the paused worker's video", async () => {
      const [row] = await s.db.q("select status, worker from videos where id = $1", [videoId]);
      if (row.status === "success") return true;
      await s.tick();
      await sleep(TICK_MS);
      return false;
    }, 60_000);
    const [{ attempts }] = await s.db.q("select attempts from videos where id = $1", [videoId]);
    t.ok(attempts >= 2, `the video was taken over (attempt ${attempts}) while its first worker was paused`);
    t.match(await attemptsOf(s, videoId), [{ attempt: 1, outcome: "interrupted", error: /its worker's lease ran out/ }, { attempt: 2 }],
      "its first attempt was ended by its lapsed lease (not by UPLOAD_TIMEOUT, 2 minutes here), and the next began");
    worker.child.kill("SIGCONT");
    const ended = await waitFor("the continued worker to end that upload", async () =>
      worker.lines().find((l) => ["upload_lease_lost", "uploaded", "upload_failed"].includes(l.event) && l.video_id === videoId));
    // Either it stopped for its lost lease, or, when the takeover had already finished the same
    // resumable upload (the session is kept in the database), the server told it the upload is
    // complete. Neither sends the video twice (counted at the server below), and its late report
    // changes nothing: its attempt stays interrupted.
    t.ok(["upload_lease_lost", "uploaded"].includes(ended.event), `the continued worker ended that upload (${ended.event}), without an error`);
    t.match(await attemptsOf(s, videoId), [{ attempt: 1, outcome: "interrupted" }, { attempt: 2, outcome: "success" }],
      "its attempt stays interrupted: the database took no report from it");
    await everyVideoOnceAtTheDestination(t, s);
    t.ok(worker.child.exitCode === null, "the continued worker runs on");
  });

  t.test(`${name}: a network black hole between a worker and PostgreSQL for 4 leases: its uploads stop at the fence, and others finish them`, async (t) => {
    const proxy = await blackHoleProxy(t, cluster.port);
    // The worker that reaches PostgreSQL only through the proxy runs alone until it uploads: with
    // the other two beside it from the start, on a busy machine they took every video first and
    // it never had one to lose (the wait below timed out). They start once it is cut off.
    const s = await scene(t, cluster, 9, []);
    const cut = startWorker(t, { ...s.db, url: s.db.url.replace(`:${cluster.port}/`, `:${proxy.port}/`) }, { ...ENV, MEDIA_PROCESS_MODULE: module, TUS_ENDPOINT: s.tus.endpoint });
    s.workers.push(cut);
    await waitFor("the worker behind the proxy to start", async () => cut.events("worker_started").length > 0, 60_000);
    await waitFor("the worker behind the proxy to upload", async () => {
      const [{ n }] = await s.db.q(
        "select count(*)::int as n from videos v join upload_attempts a on a.video_id = v.id and a.attempt = v.attempts where v.status = 'uploading' and a.worker_pid = $1",
        [cut.child.pid],
      );
      if (n > 0) return true;
      await s.tick();
      await sleep(200);
      return false;
    });
    proxy.blackHole();
    const others = [0, 1].map(() => startWorker(t, s.db, { ...ENV, MEDIA_PROCESS_MODULE: module, TUS_ENDPOINT: s.tus.endpoint }));
    s.workers.push(...others);
    await sleep(4 * LEASE_MS);
    t.ok(cut.events("lease_lost").length > 0, "the worker cut off knew its leases were lost");
    const ended = await waitFor("the worker cut off to end an upload", async () =>
      cut.lines().find((l) => ["upload_lease_lost", "uploaded", "upload_failed"].includes(l.event)));
    t.equal(ended.event, "upload_lease_lost", "it stopped its uploads for their lost leases, and reported nothing");
    proxy.heal();
    await everyVideoOnceAtTheDestination(t, s);
  });
  }

  /**
   * Stops the database the moment the tus server has the last byte of an upload by `worker` (any
   * worker when none is named), before it answers: that worker learns its success while the
   * database is away. Resolves with the video once it is stopped.
   */
  function stopDatabaseAtALastByte(t: Test, s: Scene, worker?: WorkerProcess): Promise<string> {
    t.teardown(() => cluster.start().catch(() => {}));
    return new Promise((resolve) => {
      s.tus.beforeFinishAnswer(async (upload) => {
        const videoId = (await s.tus.metadata(upload))?.video_id;
        const [row] = await s.db.q(
          "select a.worker_pid from videos v join upload_attempts a on a.video_id = v.id and a.attempt = v.attempts where v.id = $1",
          [videoId],
        );
        if (worker && row?.worker_pid !== worker.child.pid) return;
        s.tus.beforeFinishAnswer(null);
        await cluster.stop();
        resolve(videoId!);
      });
    });
  }

  t.test("the database stopped for 8 s (nearly three leases) as an upload completes: the known outcome wins, nothing is sent twice", async (t) => {
    const s = await scene(t, cluster, 9);
    const stopped = stopDatabaseAtALastByte(t, s);
    await waitFor("an upload to complete at the server", async () => {
      await s.tick();
      await sleep(200);
      return s.tus.completedByVideo().then((m) => m.size > 0);
    });
    const videoId = await stopped;
    await sleep(8000);
    await cluster.start();
    await everyVideoOnceAtTheDestination(t, s);
    const [{ attempts }] = await s.db.q("select attempts from videos where id = $1", [videoId]);
    t.ok(attempts >= 1, `the video whose success was learnt during the outage: ${attempts} attempt(s), and complete once at the server`);
  });

  t.test("DATA_DIR full and the database stopped: the worker takes no job while it can keep no outcome, then goes on", { skip: process.getuid?.() !== 0 && "mounting a full file system needs root" }, async (t) => {
    const mount = mkdtempSync(path.join(tmpdir(), "upsched-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount]);
    t.teardown(() => {
      execFileSync("umount", ["-l", mount]);
      rmSync(mount, { recursive: true, force: true });
    });
    const s = await scene(t, cluster, 9, [{ DATA_DIR: mount, HTTP_PORT: String(await freePort()) }, {}, {}]);
    try {
      writeFileSync(path.join(mount, "filler"), Buffer.alloc(1024 * 1024));
    } catch (error) {
      t.equal((error as NodeJS.ErrnoException).code, "ENOSPC", "DATA_DIR is full");
    }
    const full = s.workers[0]!;
    const stopped = stopDatabaseAtALastByte(t, s, full);
    await waitFor("that worker to complete an upload", async () => {
      await s.tick();
      await sleep(200);
      return full.lines().some((l) => l.event === "database_connection_lost") || (await Promise.race([stopped.then(() => true), sleep(10).then(() => false)]));
    });
    await stopped;
    await waitFor("the worker with the full DATA_DIR to block", async () => full.events("worker_blocked").length > 0);
    t.match(full.events("worker_blocked")[0].msg, /taking no jobs: .*\(ENOSPC\)/, "it says why, in one line");
    const readyz = await fetch(`http://127.0.0.1:${full.lines().find((l) => l.event === "worker_started").dashboard.match(/:(\d+)/)[1]}/readyz`);
    t.equal(readyz.status, 503, "/readyz says it is not ready");
    t.match(await readyz.text(), /taking no jobs/);
    await sleep(3000);
    await cluster.start();
    await waitFor("it to take jobs again", async () => full.events("worker_unblocked").length > 0);
    await everyVideoOnceAtTheDestination(t, s);
  });

  t.test("kill -9 of a worker mid-upload: another resumes the upload at the server's offset within the lease and a tick", async (t) => {
    const s = await scene(t, cluster, 6);
    const { worker, videoId } = await uploadingWorker(s);
    worker.child.kill("SIGKILL");
    await worker.exited;
    await waitFor("another worker to take the killed worker's video", async () => {
      const [row] = await s.db.q("select attempts, status from videos where id = $1", [videoId]);
      if (row.attempts >= 2 || row.status === "success") return true;
      await s.tick();
      await sleep(TICK_MS);
      return false;
    }, 60_000);
    t.match((await attemptsOf(s, videoId))[0], { attempt: 1, outcome: "interrupted", error: /its worker's lease ran out/ },
      "taken over once its lease ran out (LEASE, 3 s here), not after UPLOAD_TIMEOUT (2 minutes)");
    await everyVideoOnceAtTheDestination(t, s);
    const [upload] = (await s.tus.completedByVideo()).get(videoId)!;
    t.ok(s.tus.received(upload) <= s.sizes.get(videoId)! + CHUNK, `its bytes at the server: ${s.tus.received(upload)} of ${s.sizes.get(videoId)}, at most one chunk sent again`);
  });

  t.test("kill -9 of a worker after its last byte, before it heard the answer: reconciled as uploaded, nothing sent again", async (t) => {
    const s = await scene(t, cluster, 3, [{}, {}]);
    let victim: { videoId: string; upload: string } | null = null;
    s.tus.beforeFinishAnswer(async (upload) => {
      if (victim) return;
      s.tus.beforeFinishAnswer(null);
      const videoId = [...(await s.tus.completedByVideo())].find(([, ids]) => ids.includes(upload))![0];
      const [{ worker_pid }] = await s.db.q(
        "select a.worker_pid from videos v join upload_attempts a on a.video_id = v.id and a.attempt = v.attempts where v.id = $1",
        [videoId],
      );
      victim = { videoId, upload };
      process.kill(worker_pid, "SIGKILL");
      await sleep(200);
    });
    await everyVideoOnceAtTheDestination(t, s);
    t.ok(victim, "a worker was killed after the server had the last byte");
    const { videoId, upload } = victim!;
    t.equal(s.tus.received(upload), s.sizes.get(videoId), "no byte of it was sent again");
    const reconciled = s.workers.flatMap((w) => w.events("upload_reconciled"));
    // (The killed worker's other uploads may have had their last byte at the server too: reconciled alike.)
    t.ok(reconciled.some((l) => l.video_id === videoId), "the next attempt asked the server, and recorded the success");
  });
});
