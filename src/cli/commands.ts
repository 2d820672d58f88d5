/**
 * The CLI's short commands: migrate, tick, status, doctor. Each reads the environment like
 * `start`, prints to `out` (and problems to `err`) and returns the exit code.
 */
import pg from "pg";
import { checkConfig, ConfigError, resolveDurations, writableFolderProblem, type Config } from "../config.js";
import { embeddedUrl } from "../db/embedded.js";
import { committedMigrations, hasQueueSchema, pendingMigrations, prepareDatabase } from "../db/migrate.js";
import { errorText } from "../db/pool.js";
import { destinationProblems } from "../scheduler.js";
import { UploadSchedulerService } from "../service.js";
import type { Health } from "../types.js";

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** A tick this recent makes the scheduler healthy (the crontab ticks every minute); as /readyz. */
export const HEALTHY_TICK_WITHIN_MS = 120_000;
/** Clocks further apart than this make doctor fail: every decision compares the database's clock with slots. */
export const MAX_CLOCK_SKEW_MS = 30_000;
const ROLES = ["upload_scheduler_worker", "upload_scheduler_app"] as const;

/** The URL with its password hidden, for lines a person reads. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(a DATABASE_URL that is not a URL)";
  }
}

/** Which database a command uses: DATABASE_URL, or the embedded server that `start` runs. */
function target(config: Config, forMigrations = false): { url: string; embedded: boolean } {
  const url = (forMigrations ? config.migrateDatabaseUrl : undefined) ?? config.databaseUrl;
  return url ? { url, embedded: false } : { url: embeddedUrl(config.embeddedPort), embedded: true };
}

/** Why a connection failed, and what to do, in one sentence. */
function connectionProblem(config: Config, where: { url: string; embedded: boolean }, error: unknown): string {
  if (where.embedded) {
    return `DATABASE_URL is unset, and no embedded PostgreSQL answers on 127.0.0.1:${config.embeddedPort} (${errorText(error)}): ` +
      "it runs only while `pg-upload-scheduler start` runs without DATABASE_URL. Set DATABASE_URL, or start the scheduler first.";
  }
  return `could not connect to ${redact(where.url)}: ${errorText(error)}. Check DATABASE_URL (host, port, user, password, database) and that the server runs.`;
}

/** One connection with time limits: a command never hangs on a database that does not answer. */
async function connect(url: string, options: { limits?: boolean } = {}): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5000,
    application_name: "pg-upload-scheduler cli",
    ...(options.limits === false ? {} : { statement_timeout: 10_000, query_timeout: 15_000 }),
  });
  client.on("error", () => {});
  await client.connect();
  return client;
}

function configOrProblems(env: NodeJS.ProcessEnv, io: Output, command: string): Config | null {
  const { config, problems } = checkConfig(env);
  for (const problem of problems) io.err(`pg-upload-scheduler ${command}: ${problem}`);
  return problems.length ? null : config;
}

/** `migrate`: the scheduler's migrations and functions, Graphile Worker's schema, the worker role's grants. */
export async function migrate(env: NodeJS.ProcessEnv, io: Output): Promise<number> {
  const config = configOrProblems(env, io, "migrate");
  if (!config) return 1;
  const where = target(config, true);
  try {
    await (await connect(where.url)).end();
  } catch (error) {
    io.err(`pg-upload-scheduler migrate: ${connectionProblem(config, where, error)}`);
    return 1;
  }
  io.out(`Migrating ${redact(where.url)}…`);
  try {
    // Both URLs the same: migrate with this role, whatever it is (start only checks for a least-privilege one).
    await prepareDatabase(where.url, where.url);
  } catch (error) {
    io.err(`pg-upload-scheduler migrate: ${errorText(error)}`);
    io.err("Migrations need the schema's owner (or a role that may create schemas): set MIGRATE_DATABASE_URL to its connection.");
    return 1;
  }
  io.out(`Done: ${committedMigrations().length} migrations and the scheduler's functions, Graphile Worker's schema, and the grants of upload_scheduler_worker are in place.`);
  return 0;
}

/** `tick`: one tick now, through upload_scheduler.run_tick, and what it did. */
export async function tick(env: NodeJS.ProcessEnv, io: Output, options: { json?: boolean } = {}): Promise<number> {
  const config = configOrProblems(env, io, "tick");
  if (!config) return 1;
  const where = target(config);
  let client: pg.Client;
  try {
    client = await connect(where.url);
  } catch (error) {
    io.err(`pg-upload-scheduler tick: ${connectionProblem(config, where, error)}`);
    return 1;
  }
  try {
    const durations = await resolveDurations(client, config);
    const result = await new UploadSchedulerService(client).runTick({
      staleAfter: config.staleAfter,
      retryAfter: config.retryAfter,
      maxAttempts: config.maxAttempts,
      interruptedAfter: durations.interruptedAfter,
    });
    if (options.json) {
      io.out(JSON.stringify(result, null, 2));
      return 0;
    }
    const n = result.claimed.length;
    io.out(
      `Tick done: claimed ${count(n, "video")}; reset ${count(result.staleReset, "stale claim")}, ` +
        `sent ${count(result.retried, "failed video")} back to the queue, failed ${count(result.interrupted, "interrupted upload")}.`,
    );
    for (const c of result.claimed) {
      io.out(`  claimed video ${c.videoId} of user ${c.userId} into slot ${c.slotId} on ${c.slotDate} (attempt ${c.attempt})`);
    }
    io.out(n
      ? "Their upload jobs are queued: a running worker (pg-upload-scheduler start) uploads them."
      : "Nothing was claimed: no open slot had room for a waiting video (upload_scheduler.preview_tick() shows why).");
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) for (const problem of error.problems) io.err(`pg-upload-scheduler tick: ${problem}`);
    else io.err(`pg-upload-scheduler tick: the tick failed: ${queryProblem(error)}`);
    return 1;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * What makes the scheduler unhealthy, one sentence each; none: healthy. Healthy means a worker
 * ticks (the last tick, of any worker, is under two minutes old) and no upload has run longer than
 * INTERRUPTED_AFTER (its worker is probably gone). Waiting videos and videos failed for good are
 * the schedule's state, not a fault, and are only shown.
 */
export function healthProblems(health: Health, interruptedAfter: string): string[] {
  const problems: string[] = [];
  if (health.lastTickAgeMs === null) {
    problems.push("no tick has run yet: is a worker running (pg-upload-scheduler start)?");
  } else if (health.lastTickAgeMs >= HEALTHY_TICK_WITHIN_MS) {
    problems.push(`the last tick ran ${span(health.lastTickAgeMs)} ago (a worker ticks every minute): is a worker running?`);
  }
  if (health.overdueUploads > 0) {
    problems.push(
      `${count(health.overdueUploads, "upload")} ${health.overdueUploads === 1 ? "has" : "have"} run longer than INTERRUPTED_AFTER (${interruptedAfter}): ` +
        "its worker is probably gone; the next tick fails it as interrupted",
    );
  }
  return problems;
}

/** `status`: upload_scheduler.health(), readable; 0 when healthy, 1 otherwise. */
export async function status(env: NodeJS.ProcessEnv, io: Output, options: { json?: boolean } = {}): Promise<number> {
  const config = configOrProblems(env, io, "status");
  if (!config) return 1;
  const where = target(config);
  let client: pg.Client;
  try {
    client = await connect(where.url);
  } catch (error) {
    const problem = connectionProblem(config, where, error);
    if (options.json) io.out(JSON.stringify({ healthy: false, problems: [problem], health: null }, null, 2));
    else io.out(`Upload scheduler: NOT healthy\n  - ${problem}`);
    return 1;
  }
  try {
    const durations = await resolveDurations(client, config);
    const health = await new UploadSchedulerService(client).health({ interruptedAfter: durations.interruptedAfter, maxAttempts: config.maxAttempts });
    const problems = healthProblems(health, durations.interruptedAfter);
    if (options.json) {
      io.out(JSON.stringify({ healthy: problems.length === 0, problems, health }, null, 2));
    } else {
      io.out(`Upload scheduler: ${problems.length ? "NOT healthy" : "healthy"} (${redact(where.url)})`);
      for (const problem of problems) io.out(`  - ${problem}`);
      for (const [label, text] of describeHealth(health, durations.interruptedAfter, config.maxAttempts)) io.out(`  ${label.padEnd(16)}${text}`);
    }
    return problems.length ? 1 : 0;
  } catch (error) {
    if (error instanceof ConfigError) for (const problem of error.problems) io.err(`pg-upload-scheduler status: ${problem}`);
    else io.out(`Upload scheduler: NOT healthy\n  - the health query failed: ${queryProblem(error)}`);
    return 1;
  } finally {
    await client.end().catch(() => {});
  }
}

function describeHealth(h: Health, interruptedAfter: string, maxAttempts: number): Array<[string, string]> {
  return [
    ["last tick", h.lastTickAt
      ? `${span(h.lastTickAgeMs ?? 0)} ago (${h.lastTickAt.toUTC().toISO({ suppressMilliseconds: true })}), claimed ${h.lastTickClaimed ?? 0}` +
        `${h.lastTickDurationMs === null ? "" : ` in ${Math.round(h.lastTickDurationMs)} ms`}; ${h.ticksLastHour} in the last hour`
      : "never"],
    ["waiting", `${count(h.waiting, "video")}${h.oldestWaitingAgeMs === null ? "" : `, the oldest for ${span(h.oldestWaitingAgeMs)}`}`],
    ["pending", `${h.pending} (claimed, their upload not started yet)`],
    ["uploading", `${h.uploading}`],
    ["failed", `${h.failedRetryable} to be retried, ${h.failedForGood} for good (MAX_ATTEMPTS ${maxAttempts} used up: upload_scheduler.retry_video sends one back)`],
    ["overdue", `${count(h.overdueUploads, "upload")} running longer than INTERRUPTED_AFTER (${interruptedAfter})`],
  ];
}

export type CheckResult = { status: "ok" | "fail" | "skip"; name: string; text: string };

/**
 * `doctor`: one line per check, 1 when any fails. The checks: the settings, the connection, the
 * two roles, the migrations, the clock skew between this host and the database, DATA_DIR
 * writable, and the plug-in (or the built-in destination's folders).
 */
export async function doctor(env: NodeJS.ProcessEnv, io: Output): Promise<number> {
  const results: CheckResult[] = [];
  const report = (result: CheckResult) => {
    results.push(result);
    io.out(`${{ ok: "ok  ", fail: "FAIL", skip: "skip" }[result.status]}  ${result.name}: ${result.text}`);
  };
  const { config, problems } = checkConfig(env);
  const where = target(config);

  let client: pg.Client | null = null;
  const connectedIn = Date.now();
  try {
    client = await connect(where.url);
  } catch (error) {
    report({ status: "fail", name: "connection", text: connectionProblem(config, where, error) });
  }
  try {
    if (client) {
      const { rows: [server] } = await client.query("select current_user as role, current_database() as db, current_setting('server_version') as version");
      report({
        status: "ok", name: "connection",
        text: `${redact(where.url)}${where.embedded ? " (the embedded PostgreSQL)" : ""}: PostgreSQL ${server.version}, as ${server.role}, in ${Date.now() - connectedIn} ms`,
      });
    }
    // Durations need PostgreSQL's parser: checked once connected, beside the numbers.
    const settings = [...problems];
    if (client && !problems.length) {
      await resolveDurations(client, config).catch((error) => settings.push(...(error instanceof ConfigError ? error.problems : [errorText(error)])));
    }
    report(settings.length
      ? { status: "fail", name: "settings", text: settings.join(" ") }
      : { status: "ok", name: "settings", text: client ? "every variable is valid" : "every number is valid (durations are checked once the database answers)" });

    if (client) {
      const { rows } = await client.query("select rolname from pg_roles where rolname = any($1)", [ROLES]);
      const missing = ROLES.filter((role) => !rows.some((r) => r.rolname === role));
      report(missing.length
        ? { status: "fail", name: "roles", text: `${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} missing: run \`pg-upload-scheduler migrate\` as the database's owner` }
        : { status: "ok", name: "roles", text: `${ROLES.join(" and ")} exist` });

      const [pending, queue] = await Promise.all([pendingMigrations(where.url), hasQueueSchema(where.url)]);
      const missingParts = [
        ...(pending.length ? [`${count(pending.length, "migration")} not applied (${pending[0]}…)`] : []),
        ...(queue ? [] : ["Graphile Worker's schema (graphile_worker) is not installed"]),
      ];
      report(missingParts.length
        ? { status: "fail", name: "migrations", text: `${missingParts.join("; ")}: run \`pg-upload-scheduler migrate\` (as the schema's owner)` }
        : { status: "ok", name: "migrations", text: `all ${committedMigrations().length} applied; Graphile Worker's schema installed` });

      const skew = await clockSkewMs(client);
      const ahead = `the database's clock is ${(Math.abs(skew) / 1000).toFixed(1)} s ${skew >= 0 ? "ahead of" : "behind"} this host's`;
      report(Math.abs(skew) < MAX_CLOCK_SKEW_MS
        ? { status: "ok", name: "clock", text: `${ahead} (under ${MAX_CLOCK_SKEW_MS / 1000} s)` }
        : { status: "fail", name: "clock", text: `${ahead}: more than ${MAX_CLOCK_SKEW_MS / 1000} s; run NTP (chrony, systemd-timesyncd) on both machines` });
    } else {
      for (const name of ["roles", "migrations", "clock"]) report({ status: "skip", name, text: "no connection to the database" });
    }
  } finally {
    await client?.end().catch(() => {});
  }

  const dataDir = await writableFolderProblem("DATA_DIR", config.dataDir);
  report(dataDir ? { status: "fail", name: "DATA_DIR", text: dataDir } : { status: "ok", name: "DATA_DIR", text: `${config.dataDir} is writable (the outcome journal lives there)` });
  report(await pluginCheck(config));

  const failed = results.filter((r) => r.status === "fail").length;
  io.out(failed ? `${count(failed, "check")} failed.` : "Every check passed.");
  return failed ? 1 : 0;
}

/** The database's clock minus this host's, in ms, from the quickest of three round trips. */
async function clockSkewMs(client: pg.Client): Promise<number> {
  let best = { rtt: Infinity, skew: 0 };
  for (let i = 0; i < 3; i++) {
    const before = Date.now();
    const { rows } = await client.query("select extract(epoch from clock_timestamp()) * 1000 as ms");
    const after = Date.now();
    if (after - before < best.rtt) best = { rtt: after - before, skew: Number(rows[0].ms) - (before + after) / 2 };
  }
  return best.skew;
}

async function pluginCheck(config: Config): Promise<CheckResult> {
  const problems = await destinationProblems(config);
  if (problems.length) return { status: "fail", name: "plug-in", text: problems.join(" ") };
  return config.mediaProcessModule
    ? { status: "ok", name: "plug-in", text: `MEDIA_PROCESS_MODULE ${config.mediaProcessModule} loads and exports mediaProccess` }
    : { status: "ok", name: "plug-in", text: `the built-in local destination (MEDIA_PROCESS_MODULE unset); UPLOAD_DIR ${config.uploadDir} is writable` };
}

/** A query's error; for a database without the scheduler's schema, what to do. */
function queryProblem(error: unknown): string {
  // Undefined schema, function or table: the migrations are not applied.
  if (["3F000", "42883", "42P01"].includes((error as { code?: string }).code ?? "")) {
    return `${errorText(error)}: the database is not migrated; run \`pg-upload-scheduler migrate\``;
  }
  return errorText(error);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** A duration a person reads: 14 s, 4 min, 2 h 5 min, 3 days. */
export function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h${min % 60 ? ` ${min % 60} min` : ""}`;
  return `${Math.round(h / 24)} days`;
}
