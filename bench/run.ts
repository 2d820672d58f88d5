/**
 * npm run bench [-- --quick] [-- --json FILE]
 *
 * Measures, in one run on throw-away databases of DATABASE_URL's server, the tick
 * (claim_due_videos for every user) beside the design note's per-user loop from Node and the
 * bare set-based claim; the single claim (find_next_video_to_upload) beside the bare
 * SKIP LOCKED claim at 1-8 connections; graphile-worker's own job throughput; and how the
 * tick scales with users and videos. Prints one table; --json writes the figures.
 *
 * The baselines (the bare claims and the design note's loop) run on bench_bare.videos, a copy of
 * public.videos with the same rows and indexes and no trigger or CHECK constraint (bench/data.ts):
 * a ratio is the whole claim (slot, quota, ledger, lifecycle guard) over the bare minimum.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import os from "node:os";
import pg from "pg";
import { DateTime } from "luxon";
import { run, runMigrations, Logger } from "graphile-worker";
import { migrateDatabase } from "../src/db/migrate.js";
import { BARE_VIDEOS, createBareVideos, generate, generatePopulation, resets, type Resets } from "./data.js";
import { median, percentile, round, timed } from "./stats.js";
import { uploadBench } from "./upload.js";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const QUICK = args.includes("--quick");
const JSON_FILE = args.includes("--json") ? args[args.indexOf("--json") + 1] : undefined;
// --only population: the population scenario alone (a quicker loop when working on the tick).
const ONLY_POPULATION = args.includes("--only") && args[args.indexOf("--only") + 1] === "population";
const U = QUICK ? 2_000 : 10_000;
const V = QUICK ? 100_000 : 1_000_000;
const RUNS = 5;
const CLAIM_SECONDS = QUICK ? 2 : 4;
const CONCURRENCY = [1, 2, 4, 8];
const GW_JOBS = 20_000;
// The population scenario: a tick's cost with U_POP users of whom 1 % have a video waiting.
const U_POP = QUICK ? 100_000 : 1_000_000;
const UPLOAD_CONCURRENCY = Number(process.env.UPLOAD_CONCURRENCY ?? 4);
// Monday 2026-11-30 10:00 UTC: inside a slot for every user, in every zone.
const P_NOW = "2026-11-30T10:00:00Z";

const server = process.env.DATABASE_URL;
if (!server) throw new Error("DATABASE_URL is unset: run `npm run bench`, which provides one");
const quietLogger = new Logger(() => () => {});
const BENCH_STARTED = performance.now();
const log = (line: string) => process.stderr.write(`[bench +${Math.round((performance.now() - BENCH_STARTED) / 1000)} s] ${line}\n`);

function urlFor(name: string) {
  const url = new URL(server!);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>) {
  const c = new pg.Client({ connectionString: server });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * A migrated throw-away database holding U users and V videos, and the bare copy of its videos;
 * dropped by the returned function.
 */
async function dataset(users: number, videos: number) {
  const name = `upsched_bench_${randomBytes(5).toString("hex")}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = urlFor(name);
  await migrateDatabase(url);
  await runMigrations({ connectionString: url, logger: quietLogger });
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const gen = await timed(() => generate(db, users, videos));
  log(`data: ${users} users, ${users * 21} slots, ${videos} videos in ${round(gen.ms / 1000)} s`);
  const bare = await timed(() => createBareVideos(db));
  log(`data: ${BARE_VIDEOS}, the bare copy, in ${round(bare.ms / 1000)} s`);
  const reset = await resets(url);
  await oneRowWrite(db);
  return {
    url,
    db,
    reset,
    drop: async () => {
      await reset.end();
      await db.end();
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/**
 * A one-row write on the connection that will tick, as a worker's pooled connection makes them
 * (start_upload, finish_upload) between ticks: the session's plans of the videos trigger are
 * first made for one row, so the ticks measured are the ones production runs (see
 * test/tick.linear-plans.test.ts).
 */
async function oneRowWrite(db: pg.Client) {
  await db.query("update videos set title = title where id = (select id from videos order by id limit 1)");
}

/** Median of RUNS timings of fn, with `between` (untimed) before each run and one warm-up. */
async function medianOf(db: pg.Client, fn: () => Promise<number>, between: () => Promise<void>) {
  const times: number[] = [];
  let count = 0;
  for (let i = 0; i <= RUNS; i++) {
    await between();
    const t = await timed(fn);
    if (i > 0) times.push(t.ms);
    count = t.value;
  }
  return { ms: median(times), count };
}

/** One tick for every user at P_NOW; resolves to the number of videos it claimed. */
async function tickOnce(db: pg.Client): Promise<number> {
  return (await db.query("select count(*)::int as n from upload_scheduler.claim_due_videos($1)", [P_NOW])).rows[0].n;
}

async function tick(db: pg.Client, reset: Resets) {
  return medianOf(db, () => tickOnce(db), () => reset.scheduler());
}

/**
 * The design note's UploadSchedulerService, from Node, one user at a time, one query per step.
 * It counts and moves videos with plain statements, as the design note does, so it runs on the
 * bare copy of videos (plain UPDATEs of public.videos are refused), given for the run the index
 * its count needs (public.videos no longer has one on (slot_id, slot_date): the scheduler counts
 * places in its ledger), dropped after it.
 */
async function naive(db: pg.Client, reset: Resets) {
  await db.query(`create index naive_slot_idx on ${BARE_VIDEOS} (slot_id, slot_date) where slot_id is not null`);
  await reset.bare();
  const { rows: users } = await db.query("select id, time_zone from users order by id");
  const t = await timed(async () => {
    let claimed = 0;
    for (const user of users) {
      const now = DateTime.fromISO(P_NOW, { zone: user.time_zone }); // getCurrentTimeInfo()
      const day = now.toFormat("cccc").toLowerCase();
      const time = now.toFormat("HH:mm:ss");
      const { rows: slots } = await db.query( // getActiveSlotsForDay(day)
        "select id, start_time, end_time, max_uploads from upload_schedules where user_id = $1 and day = $2 and is_active order by start_time",
        [user.id, day],
      );
      const slot = slots.find((s) => s.start_time <= time && time <= s.end_time); // isWithinTimeSlot()
      if (!slot) continue;
      const { rows: [count] } = await db.query( // getUploadCountForSlot()
        `select count(*)::int as n from ${BARE_VIDEOS} where slot_id = $1 and slot_date = $2 and status in ('pending', 'uploading', 'success')`,
        [slot.id, now.toISODate()],
      );
      if (count.n >= slot.max_uploads) continue; // findActiveSlot()
      const { rows: [video] } = await db.query( // findNextVideoToUpload(): select, then lock by update
        `select id from ${BARE_VIDEOS} where user_id = $1 and status = 'initiate' order by created_at, id limit 1`,
        [user.id],
      );
      if (!video) continue;
      const { rowCount } = await db.query(
        `update ${BARE_VIDEOS} set status = 'pending', slot_id = $2, slot_date = $3, claimed_at = $4 where id = $1 and status = 'initiate'`,
        [video.id, slot.id, now.toISODate(), P_NOW],
      );
      claimed += rowCount ?? 0;
    }
    return claimed;
  });
  await db.query("drop index bench_bare.naive_slot_idx");
  return { ms: t.ms, count: t.value };
}

/**
 * The bare set-based claim: each user's oldest video, LATERAL + SKIP LOCKED, no slots or quotas,
 * on the bare copy of videos.
 */
async function batchLimit(db: pg.Client, reset: Resets) {
  return medianOf(db, () => batchOnce(db), () => reset.bare());
}

/** One bare batch claim on the bare copy of videos; resolves to the number of videos it claimed. */
async function batchOnce(db: pg.Client): Promise<number> {
  const { rowCount } = await db.query(`
    with picked as (
      select w.id from users u
      cross join lateral (
        select v.id from ${BARE_VIDEOS} v where v.user_id = u.id and v.status = 'initiate'
        order by v.created_at, v.id limit 1 for update skip locked
      ) w
    )
    update ${BARE_VIDEOS} v set status = 'pending', claimed_at = $1
    from picked p where v.id = p.id`, [P_NOW]);
  return rowCount ?? 0;
}

/** Single claims for random users from `clients` connections for CLAIM_SECONDS. */
async function claimLoad(url: string, userIds: string[], clients: number, sql: string) {
  const conns = await Promise.all(Array.from({ length: clients }, async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  }));
  const latencies: number[] = [];
  let claims = 0;
  const deadline = performance.now() + CLAIM_SECONDS * 1000;
  const started = performance.now();
  await Promise.all(conns.map(async (c) => {
    while (performance.now() < deadline) {
      const user = userIds[Math.floor(Math.random() * userIds.length)];
      const t0 = performance.now();
      const { rowCount } = await c.query({ name: sql.slice(0, 60), text: sql, values: [user, P_NOW] });
      latencies.push(performance.now() - t0);
      claims += rowCount ?? 0;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(conns.map((c) => c.end()));
  return { perSecond: claims / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), calls: latencies.length, claims };
}

/**
 * The same load from pgbench, when the machine has it: C clients take far less CPU from the
 * server than Node's do on a 2-core machine. Latencies come from pgbench's per-transaction log.
 */
function pgbenchAvailable(): boolean {
  try {
    execFileSync("pgbench", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function pgbenchLoad(url: string, users: number, clients: number, script: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "upsched-pgbench-"));
  try {
    const out = execFileSync("pgbench", [
      "-n", "-M", "prepared", "-c", String(clients), "-j", String(Math.min(clients, 2)), "-T", String(CLAIM_SECONDS),
      "-D", `users=${users}`, "-f", path.join(BENCH_DIR, "pgbench", script), "-l", `--log-prefix=${path.join(dir, "log")}`, url,
    ], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
    const latencies = readdirSync(dir).flatMap((f) =>
      readFileSync(path.join(dir, f), "utf8").trim().split("\n").map((line) => Number(line.split(" ")[2]) / 1000));
    return { perSecond: tps, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    // pgbench's per-transaction logs: read, then gone.
    rmSync(dir, { recursive: true, force: true });
  }
}

const CLAIM_SQL = "select id from upload_scheduler.find_next_video_to_upload($1, $2)";
// The bare single claim, on the bare copy of videos (bench/pgbench/limit.sql is the same statement).
const LIMIT_SQL = `
  update ${BARE_VIDEOS} set status = 'pending', claimed_at = $2
  where id = (select id from ${BARE_VIDEOS} where user_id = $1 and status = 'initiate'
              order by created_at, id limit 1 for update skip locked)
  returning id`;

/** graphile-worker: enqueue GW_JOBS no-op jobs at once, then time the runner working through them. */
async function graphileWorkerPeer(url: string) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  await db.query(
    `select count(*) from graphile_worker.add_jobs(array(
       select row('noop', '{}'::json, null, null, 1, null, null, null)::graphile_worker.job_spec from generate_series(1, $1)))`,
    [GW_JOBS],
  );
  await db.end();
  let done = 0;
  let finish!: () => void;
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  const runner = await run({
    connectionString: url,
    concurrency: UPLOAD_CONCURRENCY,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: quietLogger,
    parsedCronItems: [],
    taskList: {
      noop: async () => {
        if (++done === GW_JOBS) finish();
      },
    },
  });
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  return GW_JOBS / seconds;
}

/**
 * The population scenario (issue 11): the tick that claims the 1 % with a waiting video, the bare
 * set-based claim of the same users' videos, and the next minute's tick with nothing to claim,
 * at U_POP users and at a tenth of that.
 */
async function population(users: number, full: boolean) {
  const name = `upsched_bench_${randomBytes(5).toString("hex")}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = urlFor(name);
  const db = new pg.Client({ connectionString: url });
  let reset: Resets | undefined;
  try {
    await migrateDatabase(url);
    await runMigrations({ connectionString: url, logger: quietLogger });
    await db.connect();
    const load = await timed(() => generatePopulation(db, users));
    log(`population: ${users} users, ${users * 7} slots, ${users * 5} old uploads, ${users / 100} waiting in ${round(load.ms / 1000)} s ${JSON.stringify(load.value)}`);
    if (full) {
      const bare = await timed(() => createBareVideos(db));
      log(`population: ${BARE_VIDEOS}, the bare copy, in ${round(bare.ms / 1000)} s`);
    }
    // Between runs (untimed), the claimed videos go back and their users are marked due again,
    // as a new arrival marks them (bench/data.ts).
    reset = await resets(url);
    await oneRowWrite(db);
    const figures: Record<string, number> = { [`pop_load_s_u${users}`]: round(load.ms / 1000) };
    if (full) {
      const due = await medianOf(db, async () =>
        (await db.query("select count(*)::int as n from upload_scheduler.claim_due_videos($1)", [P_NOW])).rows[0].n, reset.scheduler);
      const limit = await medianOf(db, async () =>
        (await db.query(`
          with picked as (
            select w.id from (select distinct v.user_id from ${BARE_VIDEOS} v where v.status = 'initiate') u
            cross join lateral (
              select v.id from ${BARE_VIDEOS} v where v.user_id = u.user_id and v.status = 'initiate'
              order by v.created_at, v.id limit 1 for update skip locked
            ) w
          )
          update ${BARE_VIDEOS} v set status = 'pending', claimed_at = $1
          from picked p where v.id = p.id`, [P_NOW])).rowCount ?? 0, reset.bare);
      log(`population: due tick ${due.count} claims in ${round(due.ms)} ms, batch limit ${limit.count} in ${round(limit.ms)} ms`);
      figures.pop_tick_due_ms = round(due.ms);
      figures.pop_tick_due_claims = due.count;
      figures.pop_batch_limit_ms = round(limit.ms);
    }
    // The due tick once more (at U/10: once), for real, then the idle minutes after it.
    await reset.scheduler();
    await db.query("select count(*) from upload_scheduler.claim_due_videos($1)", [P_NOW]);
    await db.query("vacuum analyze upload_scheduler.user_due, upload_scheduler.due_marks, videos");
    let minute = 0;
    const idle = await medianOf(db, async () => {
      minute += 1;
      return (await db.query("select count(*)::int as n from upload_scheduler.claim_due_videos($1::timestamptz + $2 * interval '1 minute')", [P_NOW, minute])).rows[0].n;
    }, async () => {});
    log(`population: idle tick at U=${users}: ${round(idle.ms, 2)} ms (${idle.count} claims)`);
    figures[full ? "pop_tick_idle_ms" : "pop_tick_idle_ms_tenth"] = round(idle.ms, 2);
    return figures;
  } finally {
    await reset?.end().catch(() => {});
    await db.end().catch(() => {});
    await admin((c) => c.query(`drop database if exists ${name} with (force)`));
  }
}

async function main() {
  const results: Record<string, number> = {};
  const rows: Array<[string, string, string]> = [];
  const extra: Record<string, unknown> = {};
  const { rows: [{ version }] } = await admin((c) => c.query("select current_setting('server_version') as version"));

  if (!ONLY_POPULATION) Object.assign(extra, await everyUserDue(results, rows));

  // The population scenario.
  const pop = await population(U_POP, true);
  const tenth = await population(U_POP / 10, false);
  Object.assign(results, pop, tenth);
  results.pop_tick_due_over_batch_limit = round(pop.pop_tick_due_ms! / pop.pop_batch_limit_ms!, 2);
  results.pop_idle_over_idle_tenth = round(pop.pop_tick_idle_ms! / tenth.pop_tick_idle_ms_tenth!, 2);
  rows.push(
    [`population: due tick, U=${U_POP}, 1 % waiting`, `${pop.pop_tick_due_ms} ms for ${pop.pop_tick_due_claims} claims`, `due/batch limit = ${results.pop_tick_due_over_batch_limit}`],
    [`population: bare batch claim of those users`, `${pop.pop_batch_limit_ms} ms`, ""],
    [`population: idle tick, U=${U_POP}`, `${pop.pop_tick_idle_ms} ms`, `idle/idle at U/10 = ${results.pop_idle_over_idle_tenth}`],
    [`population: idle tick, U=${U_POP / 10}`, `${tenth.pop_tick_idle_ms_tenth} ms`, ""],
  );

  // The upload path: tus against a plain PUT of the same file, and the worker's memory as the file grows.
  if (!ONLY_POPULATION) {
    const upload = await uploadBench({ quick: QUICK, log });
    Object.assign(results, upload);
    const [small, large] = QUICK ? ["20 MB", "100 MB"] : ["100 MB", "1 GB"];
    rows.push(
      [`upload: ${large} through builtin:tus over a plain HTTP PUT`, `${upload.upload_tus_over_put}× the PUT's throughput`, "target ≥ 0.8"],
      [`upload: ${large} as plain 8 MiB PUTs over one PUT`, `${upload.upload_chunked_put_over_put}×`, `tus over them: ${upload.upload_tus_over_chunked_put}×`],
      [`upload: ${large} to the tus server by the protocol alone (8 MiB PATCHes, no client library) over one PUT`, `${upload.upload_protocol_tus_over_put}×`, "the ceiling of any tus client here"],
      [`upload: peak RSS uploading ${small} / ${large}`, `${upload.upload_rss_mb_small} MB / ${upload.upload_rss_mb_large} MB`, "flat as the file grows"],
    );
  }

  const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", memory_gb: Math.round(os.totalmem() / 2 ** 30), postgres: version, node: process.version };
  print(rows, machine);
  if (JSON_FILE) {
    writeFileSync(JSON_FILE, JSON.stringify({ ...results, quick: QUICK, users: U, videos: V, population_users: U_POP, ...extra, machine }, null, 2) + "\n");
    log(`figures written to ${JSON_FILE}`);
  }
}


/** The scenarios of the first benchmark: every user due at once (U users, V videos). */
async function everyUserDue(results: Record<string, number>, rows: Array<[string, string, string]>) {
  // The main data set: U users, V videos; dropped even when a measurement fails.
  const main = await dataset(U, V);
  const usePgbench = pgbenchAvailable();
  const client = usePgbench ? "pgbench" : "node";
  let t: { ms: number; count: number };
  try {
    t = await tick(main.db, main.reset);
    log(`tick: ${t.count} claims, median ${round(t.ms)} ms`);
    // The same tick with the platforms' limits on every user (a rolling one and a calendar one,
    // with room, so the claims are the same): what counting them costs.
    await main.db.query(`insert into upload_limits (user_id, max_uploads, per, time_zone)
                         select u.id, 1000, x.per, x.zone from users u
                         cross join (values ('24 hours'::interval, null::text), ('1 day', 'America/Los_Angeles')) x (per, zone)`);
    await main.db.query("vacuum analyze upload_limits");
    const capped = await tick(main.db, main.reset);
    await main.db.query("delete from upload_limits");
    await main.reset.scheduler();
    log(`tick with limits on every user: ${capped.count} claims, median ${round(capped.ms)} ms`);
    const n = await naive(main.db, main.reset);
    log(`naive: ${n.count} claims in ${round(n.ms)} ms`);
    const b = await batchLimit(main.db, main.reset);
    log(`batch limit: ${b.count} claims, median ${round(b.ms)} ms`);
    Object.assign(results, {
      tick_ms: round(t.ms), tick_claims_per_s: Math.round(t.count / (t.ms / 1000)),
      naive_ms: round(n.ms), naive_over_tick: round(n.ms / t.ms),
      batch_limit_ms: round(b.ms), tick_over_batch_limit: round(t.ms / b.ms, 2),
      tick_limits_ms: round(capped.ms), tick_limits_over_tick: round(capped.ms / t.ms, 2),
    });
    rows.push(
      ["tick: claim_due_videos, all users", `${round(t.ms)} ms for ${t.count} claims`, `${results.tick_claims_per_s} claims/s`],
      ["tick with two limits on every user", `${round(capped.ms)} ms for ${capped.count} claims`, `limits/none = ${results.tick_limits_over_tick} (target ≤ 1.2)`],
      ["naive: design note's loop from Node", `${round(n.ms)} ms for ${n.count} claims`, `naive/tick = ${results.naive_over_tick}`],
      ["batch limit: bare LATERAL SKIP LOCKED", `${round(b.ms)} ms for ${b.count} claims`, `tick/batch limit = ${results.tick_over_batch_limit}`],
    );

    // Single claims: give every slot room, so every call claims. The slots' per-row trigger
    // (validation, and marking each user due) is switched off for this one statement, as for the
    // load: the quota it writes is valid by construction (the CHECK constraints still hold), and
    // the reset puts the due bookkeeping back. With it on, this untimed step took 25 s of a
    // --quick run for 42,000 slots.
    await main.reset.scheduler();
    await main.reset.bare();
    await main.db.query("alter table upload_schedules disable trigger tg_upload_schedules__validate");
    await main.db.query("update upload_schedules set max_uploads = 1000000");
    await main.db.query("alter table upload_schedules enable trigger tg_upload_schedules__validate");
    await main.db.query("vacuum analyze upload_schedules");
    await main.reset.scheduler();
    const { rows: users } = await main.db.query("select id from users");
    const userIds = users.map((u) => u.id as string);
    log(`single claims from ${client} clients`);
    for (const c of CONCURRENCY) {
      const claim = usePgbench ? pgbenchLoad(main.url, U, c, "claim.sql") : await claimLoad(main.url, userIds, c, CLAIM_SQL);
      await main.reset.scheduler();
      const limit = usePgbench ? pgbenchLoad(main.url, U, c, "limit.sql") : await claimLoad(main.url, userIds, c, LIMIT_SQL);
      await main.reset.bare();
      log(`c${c}: claim ${Math.round(claim.perSecond)}/s (p50 ${round(claim.p50, 2)} ms, p99 ${round(claim.p99, 2)} ms), limit ${Math.round(limit.perSecond)}/s`);
      results[`claim_per_s_c${c}`] = Math.round(claim.perSecond);
      results[`claim_p50_ms_c${c}`] = round(claim.p50, 2);
      results[`claim_p99_ms_c${c}`] = round(claim.p99, 2);
      results[`limit_per_s_c${c}`] = Math.round(limit.perSecond);
      results[`claim_over_limit_c${c}`] = round(claim.perSecond / limit.perSecond, 2);
      rows.push([
        `claim vs limit, ${c} connection${c > 1 ? "s" : ""} (${client})`,
        `${Math.round(claim.perSecond)}/s (p50 ${round(claim.p50, 2)} ms, p99 ${round(claim.p99, 2)} ms)`,
        `limit ${Math.round(limit.perSecond)}/s, claim/limit = ${results[`claim_over_limit_c${c}`]}`,
      ]);
    }
    const gw = await graphileWorkerPeer(main.url);
    results.gw_jobs_per_s = Math.round(gw);
    rows.push([`peer: graphile-worker, ${GW_JOBS} no-op jobs`, `concurrency ${UPLOAD_CONCURRENCY}`, `${results.gw_jobs_per_s} jobs/s`]);
  } finally {
    await main.drop();
  }

  // Scaling: the tick at other sizes.
  const scaleV = QUICK ? [10_000, 100_000] : [100_000, 1_000_000];
  const scaleU = QUICK ? [1_000, U] : [1_000, 10_000, 50_000];
  const scaling: Array<{ users: number; videos: number; tick_ms: number }> = [];
  for (const users of scaleU) {
    const videos = V;
    const ms = users === U ? t.ms : await tickAt(users, videos);
    scaling.push({ users, videos, tick_ms: round(ms) });
  }
  for (const s of scaling) {
    rows.push([`scaling: tick at U=${s.users}, V=${s.videos}`, `${s.tick_ms} ms`, `${Math.round(s.users / (s.tick_ms / 1000))} users/s`]);
  }
  results.tick_ms_u1k = scaling.find((s) => s.users === 1_000)!.tick_ms;
  if (!QUICK) results.tick_ms_u50k = scaling.find((s) => s.users === 50_000)!.tick_ms;
  // Ten times the videos: the tick and the bare batch claim on each data set, alternated.
  const inV = await scaleInV(QUICK ? U : 10_000, scaleV);
  results.tick_ms_v100k = round(inV.tick[0]!);
  results.tick_ms_v1m = round(inV.tick[1]!);
  results.batch_limit_ms_v100k = round(inV.batch[0]!);
  results.batch_limit_ms_v1m = round(inV.batch[1]!);
  results.tick_v_x10 = round(inV.tick[1]! / inV.tick[0]!, 2);
  results.batch_limit_v_x10 = round(inV.batch[1]! / inV.batch[0]!, 2);
  rows.push(
    [`scaling: tick at V=${scaleV[0]} / V=${scaleV[1]} (U=${inV.users})`, `${results.tick_ms_v100k} ms / ${results.tick_ms_v1m} ms`,
      `bare batch claim ${results.batch_limit_ms_v100k} ms / ${results.batch_limit_ms_v1m} ms`],
    [`scaling: V x10 (${scaleV[0]} -> ${scaleV[1]})`, `tick time x${results.tick_v_x10}`, `bare batch claim x${results.batch_limit_v_x10}`],
  );
}

/**
 * The tick and the bare batch claim at `users` users and each of `sizes` videos, one data set at a
 * time (two at once would share shared_buffers, and each would miss more than it does alone): on
 * each, one warm-up of both, then RUNS rounds that each run the tick and the batch claim, which
 * one first alternating. Medians, in the order of sizes. The batch claim's ratio says how much of
 * the tick's is the data's size on this machine, not the scheduler.
 */
async function scaleInV(users: number, sizes: number[]) {
  const tick: number[] = [];
  const batch: number[] = [];
  for (const videos of sizes) {
    const set = await dataset(users, videos);
    try {
      const times: [number[], number[]] = [[], []];
      const measures: Array<[(db: pg.Client) => Promise<number>, () => Promise<void>]> = [
        [tickOnce, () => set.reset.scheduler()],
        [batchOnce, () => set.reset.bare()],
      ];
      for (let round = 0; round <= RUNS; round++) {
        for (let k = 0; k < 2; k++) {
          const i = (k + round) % 2;
          const [once, reset] = measures[i]!;
          await reset();
          const took = await timed(() => once(set.db));
          if (round > 0) times[i]!.push(took.ms);
        }
      }
      tick.push(median(times[0]));
      batch.push(median(times[1]));
      log(`tick at U=${users}, V=${videos}: ${round(tick.at(-1)!)} ms; bare batch claim ${round(batch.at(-1)!)} ms`);
    } finally {
      await set.drop();
    }
  }
  return { users, tick, batch };
}

async function tickAt(users: number, videos: number) {
  const d = await dataset(users, videos);
  try {
    const r = await tick(d.db, d.reset);
    log(`tick at U=${users}, V=${videos}: ${round(r.ms)} ms (${r.count} claims)`);
    return r.ms;
  } finally {
    await d.drop();
  }
}

function print(rows: Array<[string, string, string]>, machine: Record<string, unknown>) {
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["measure", "result", "comparison"][i]!.length));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(" | ")} |`;
  console.log(`\nupload scheduler benchmark${QUICK ? " (--quick)" : ""}: U=${U} users, V=${V} videos, median of ${RUNS} runs`);
  console.log(`machine: ${machine.cores} cores, ${machine.cpu}, ${machine.memory_gb} GiB, PostgreSQL ${machine.postgres}, Node ${machine.node}\n`);
  console.log(line(["measure", "result", "comparison"]));
  console.log(`|${w.map((n) => "-".repeat(n + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
}

await main();
