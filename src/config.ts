import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type pg from "pg";
import { MIN_TOKEN_LENGTH } from "./http/auth.js";
import { LOG_LEVELS, type LogFormat, type LogLevel } from "./log.js";

/** Everything the runner reads from the environment, read once at start. */
export interface Config {
  databaseUrl: string | undefined;
  /** The owner's connection for migrations, when DATABASE_URL names a least-privilege role. */
  migrateDatabaseUrl: string | undefined;
  dataDir: string;
  embeddedPort: number;
  mediaProcessModule: string | undefined;
  uploadDir: string;
  /** The folders the built-in destination may read sources from; empty: any readable file. */
  sourceRoots: string[];
  uploadConcurrency: number;
  /** PostgreSQL interval text, e.g. "30 minutes". */
  uploadTimeout: string;
  staleAfter: string;
  retryAfter: string;
  maxAttempts: number;
  /** Default: UPLOAD_TIMEOUT + 5 minutes. */
  interruptedAfter: string | undefined;
  /** How long after its slot's window closed an upload may still start. */
  startGrace: string;
  shutdownGrace: string;
  /** A running attempt's lease (LEASE) and how often its worker renews it (HEARTBEAT_EVERY). */
  lease: string;
  heartbeatEvery: string;
  /** How far this worker's clock may be from the database's before it stops running the crontab. */
  maxClockSkew: string;
  /** The HTTP endpoint's port; 0 switches it off. */
  httpPort: number;
  /** Whether HTTP_PORT was set: a port set by hand that is taken stops the start; the default's only warns. */
  httpPortSet: boolean;
  httpHost: string;
  /** DASHBOARD_TOKEN: switches the dashboard's actions and the JSON API on; every request then needs it. */
  dashboardToken: string | undefined;
  /** LOG_LEVEL: the least severe level written. */
  logLevel: LogLevel;
  /** LOG_FORMAT; undefined: pretty lines in a terminal, JSON otherwise. */
  logFormat: LogFormat | undefined;
}

/** What is wrong with the configuration: one sentence per problem, each naming its variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

/** Reads the environment; throws a ConfigError naming every bad number at once. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const { config, problems } = checkConfig(env);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** Reads the environment: the configuration, and every bad number (one sentence each). */
export function checkConfig(env: NodeJS.ProcessEnv = process.env): { config: Config; problems: string[] } {
  const problems: string[] = [];
  const dataDir = env.DATA_DIR || ".data";
  const config: Config = {
    databaseUrl: env.DATABASE_URL || undefined,
    migrateDatabaseUrl: env.MIGRATE_DATABASE_URL || undefined,
    dataDir,
    embeddedPort: wholeNumber(env, "EMBEDDED_PG_PORT", 54329, problems, 65535),
    // builtin:local names the default, the built-in local destination.
    mediaProcessModule: env.MEDIA_PROCESS_MODULE === "builtin:local" ? undefined : env.MEDIA_PROCESS_MODULE || undefined,
    uploadDir: env.UPLOAD_DIR || path.join(dataDir, "uploads"),
    sourceRoots: (env.SOURCE_ROOTS ?? "").split(path.delimiter).filter(Boolean),
    uploadConcurrency: wholeNumber(env, "UPLOAD_CONCURRENCY", 4, problems),
    uploadTimeout: env.UPLOAD_TIMEOUT || "30 minutes",
    staleAfter: env.STALE_PENDING_AFTER || "30 minutes",
    retryAfter: env.RETRY_FAILED_AFTER || "30 minutes",
    maxAttempts: wholeNumber(env, "MAX_ATTEMPTS", 3, problems),
    interruptedAfter: env.INTERRUPTED_AFTER || undefined,
    startGrace: env.START_GRACE || "5 minutes",
    shutdownGrace: env.SHUTDOWN_GRACE || "20 seconds",
    lease: env.LEASE || "1 minute",
    heartbeatEvery: env.HEARTBEAT_EVERY || "10 seconds",
    maxClockSkew: env.MAX_CLOCK_SKEW || "30 seconds",
    httpPort: env.HTTP_PORT === "0" ? 0 : wholeNumber(env, "HTTP_PORT", 8377, problems, 65535),
    httpPortSet: Boolean(env.HTTP_PORT),
    httpHost: env.HTTP_HOST || "127.0.0.1",
    dashboardToken: env.DASHBOARD_TOKEN || undefined,
    logLevel: oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info", problems),
    logFormat: env.LOG_FORMAT ? oneOf(env, "LOG_FORMAT", ["json", "pretty"] as const, undefined, problems, "pretty lines in a terminal and JSON otherwise") : undefined,
  };
  if (config.dashboardToken !== undefined && config.dashboardToken.length < MIN_TOKEN_LENGTH) {
    problems.push(`DASHBOARD_TOKEN is ${config.dashboardToken.length} characters long: use ${MIN_TOKEN_LENGTH} or more (e.g. openssl rand -hex 24), or unset it for a read-only dashboard.`);
  }
  return { config, problems };
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[], max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? "a positive whole number" : `a whole number from 1 to ${max}`;
    problems.push(`${name}=${JSON.stringify(raw)} is not ${range}; unset it for the default ${fallback}.`);
  }
  return value;
}

function oneOf<T extends string, D extends T | undefined>(
  env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: D, problems: string[], byDefault = `the default ${fallback}`,
): T | D {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = raw.toLowerCase() as T;
  if (allowed.includes(value)) return value;
  problems.push(`${name}=${JSON.stringify(raw)} is not one of ${allowed.join(", ")}; unset it for ${byDefault}.`);
  return fallback;
}

/** The durations, checked and converted by PostgreSQL's own interval parser. */
export interface Durations {
  uploadTimeoutMs: number;
  shutdownGraceMs: number;
  interruptedAfter: string;
  leaseMs: number;
  heartbeatMs: number;
  maxClockSkewMs: number;
  retryAfterMs: number;
}

/**
 * Checks every duration with PostgreSQL's interval parser, and that an upload cannot be
 * called interrupted while it may still be running; throws a ConfigError naming every problem.
 */
export async function resolveDurations(db: Pick<pg.Pool, "query">, config: Config): Promise<Durations> {
  const entries: Array<[name: string, text: string, zeroAllowed: boolean]> = [
    ["UPLOAD_TIMEOUT", config.uploadTimeout, false],
    ["STALE_PENDING_AFTER", config.staleAfter, false],
    ["RETRY_FAILED_AFTER", config.retryAfter, false],
    ["SHUTDOWN_GRACE", config.shutdownGrace, false],
    ["START_GRACE", config.startGrace, true],
    ["LEASE", config.lease, false],
    ["HEARTBEAT_EVERY", config.heartbeatEvery, false],
    ["MAX_CLOCK_SKEW", config.maxClockSkew, false],
    ...(config.interruptedAfter ? [["INTERRUPTED_AFTER", config.interruptedAfter, false] as [string, string, boolean]] : []),
  ];
  const problems: string[] = [];
  const ms: Record<string, number> = {};
  for (const [name, text, zeroAllowed] of entries) {
    try {
      const { rows } = await db.query("select extract(epoch from $1::interval) * 1000 as ms", [text]);
      ms[name] = Number(rows[0].ms);
    } catch {
      problems.push(`${name}=${JSON.stringify(text)} is not a PostgreSQL interval; write e.g. '90 seconds' or '30 minutes'.`);
      continue;
    }
    if (zeroAllowed ? ms[name]! < 0 : !(ms[name]! > 0)) {
      problems.push(`${name}=${JSON.stringify(text)} must be ${zeroAllowed ? "zero or longer" : "longer than zero"}.`);
    }
  }
  if (ms.START_GRACE! > 86_400_000) {
    problems.push(`START_GRACE=${JSON.stringify(config.startGrace)} is longer than a day; an upload starts within a day of its slot or not at all.`);
  }
  if (ms.LEASE! > 0 && (ms.LEASE! < 1000 || ms.LEASE! > 86_400_000)) {
    problems.push(`LEASE=${JSON.stringify(config.lease)} must lie from 1 second to 1 day.`);
  }
  if (ms.LEASE! > 0 && ms.HEARTBEAT_EVERY! > 0 && ms.HEARTBEAT_EVERY! * 3 > ms.LEASE!) {
    problems.push(
      `HEARTBEAT_EVERY=${JSON.stringify(config.heartbeatEvery)} must be at most a third of LEASE=${JSON.stringify(config.lease)}: ` +
        "a lease must survive a missed heartbeat or two.",
    );
  }
  if (config.interruptedAfter && ms.INTERRUPTED_AFTER! > 0 && ms.UPLOAD_TIMEOUT! > 0 && !(ms.INTERRUPTED_AFTER! > ms.UPLOAD_TIMEOUT!)) {
    problems.push(
      `INTERRUPTED_AFTER=${JSON.stringify(config.interruptedAfter)} must be longer than UPLOAD_TIMEOUT=${JSON.stringify(config.uploadTimeout)}: ` +
        "otherwise an upload still running is failed as interrupted and uploaded again.",
    );
  }
  if (problems.length) throw new ConfigError(problems);
  const { rows } = await db.query("select ($1::interval + interval '5 minutes')::text as t", [config.uploadTimeout]);
  return {
    uploadTimeoutMs: ms.UPLOAD_TIMEOUT!,
    shutdownGraceMs: ms.SHUTDOWN_GRACE!,
    interruptedAfter: config.interruptedAfter ?? rows[0].t,
    leaseMs: ms.LEASE!,
    heartbeatMs: ms.HEARTBEAT_EVERY!,
    maxClockSkewMs: ms.MAX_CLOCK_SKEW!,
    retryAfterMs: ms.RETRY_FAILED_AFTER!,
  };
}

/**
 * Null when `dir` is (or can be made) a folder this process can write in; otherwise one
 * sentence saying why not, naming the variable that sets it.
 */
export async function writableFolderProblem(variable: string, dir: string): Promise<string | null> {
  const probe = path.join(dir, `.write-check-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, "");
    await rm(probe);
    return null;
  } catch (error) {
    const reason = await whyNotWritable(dir, error as NodeJS.ErrnoException);
    return `${variable}=${dir} is not a writable folder: ${reason}. Set ${variable} to a folder this user can write in.`;
  }
}

/**
 * Node's recursive mkdir says ENOENT on a read-only file system; the nearest folder that
 * exists tells the real reason.
 */
async function whyNotWritable(dir: string, error: NodeJS.ErrnoException): Promise<string> {
  let code = error.code;
  let where = path.resolve(dir);
  if (code === "ENOENT" || code === "ENOTDIR") {
    while (!(await exists(where)) && path.dirname(where) !== where) where = path.dirname(where);
    if (!(await stat(where)).isDirectory()) {
      code = "ENOTDIR";
    } else if (code === "ENOENT") {
      code = await access(where, constants.W_OK).then(
        () => code,
        (e: NodeJS.ErrnoException) => e.code,
      );
    }
  }
  switch (code) {
    case "EROFS":
      return `the file system holding ${where} is read-only (EROFS)`;
    case "EACCES":
    case "EPERM":
      return `permission denied on ${where} (${code})`;
    case "ENOTDIR":
    case "EEXIST":
      return `${where} is a file, not a folder (${code})`;
    case "ENOSPC":
      return "no space left on the device (ENOSPC)";
    default:
      return error.message;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
