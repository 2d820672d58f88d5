import path from "node:path";
import type pg from "pg";

/** Everything the runner reads from the environment, read once at start. */
export interface Config {
  databaseUrl: string | undefined;
  /** The owner's connection for migrations, when DATABASE_URL names a least-privilege role. */
  migrateDatabaseUrl: string | undefined;
  dataDir: string;
  embeddedPort: number;
  mediaProcessModule: string | undefined;
  uploadDir: string;
  uploadConcurrency: number;
  /** PostgreSQL interval text, e.g. "30 minutes". */
  uploadTimeout: string;
  staleAfter: string;
  retryAfter: string;
  maxAttempts: number;
  /** Default: UPLOAD_TIMEOUT + 5 minutes. */
  interruptedAfter: string | undefined;
  shutdownGrace: string;
  /** How long after its slot closed an upload may still start. */
  startGrace: string;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = env.DATA_DIR ?? ".data";
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    migrateDatabaseUrl: env.MIGRATE_DATABASE_URL || undefined,
    dataDir,
    embeddedPort: positiveInt(env, "EMBEDDED_PG_PORT", 54329),
    mediaProcessModule: env.MEDIA_PROCESS_MODULE || undefined,
    uploadDir: env.UPLOAD_DIR ?? path.join(dataDir, "uploads"),
    uploadConcurrency: positiveInt(env, "UPLOAD_CONCURRENCY", 4),
    uploadTimeout: env.UPLOAD_TIMEOUT ?? "30 minutes",
    staleAfter: env.STALE_PENDING_AFTER ?? "30 minutes",
    retryAfter: env.RETRY_FAILED_AFTER ?? "30 minutes",
    maxAttempts: positiveInt(env, "MAX_ATTEMPTS", 3),
    interruptedAfter: env.INTERRUPTED_AFTER || undefined,
    shutdownGrace: env.SHUTDOWN_GRACE ?? "20 seconds",
    startGrace: env.START_GRACE ?? "5 minutes",
  };
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not a positive whole number; unset it for the default ${fallback}.`);
  }
  return value;
}

/** The durations, checked and converted by PostgreSQL's own interval parser. */
export interface Durations {
  uploadTimeoutMs: number;
  shutdownGraceMs: number;
  interruptedAfter: string;
}

export async function resolveDurations(db: Pick<pg.Pool, "query">, config: Config): Promise<Durations> {
  const entries: Array<[string, string]> = [
    ["UPLOAD_TIMEOUT", config.uploadTimeout],
    ["STALE_PENDING_AFTER", config.staleAfter],
    ["RETRY_FAILED_AFTER", config.retryAfter],
    ["SHUTDOWN_GRACE", config.shutdownGrace],
    ...(config.interruptedAfter ? [["INTERRUPTED_AFTER", config.interruptedAfter] as [string, string]] : []),
  ];
  const ms: Record<string, number> = {};
  for (const [name, text] of entries) {
    try {
      const { rows } = await db.query("select extract(epoch from $1::interval) * 1000 as ms", [text]);
      ms[name] = Number(rows[0].ms);
    } catch {
      throw new Error(`${name}=${JSON.stringify(text)} is not a PostgreSQL interval; write e.g. '90 seconds' or '30 minutes'.`);
    }
    if (!(ms[name]! > 0)) throw new Error(`${name}=${JSON.stringify(text)} must be longer than zero.`);
  }
  const { rows } = await db.query("select ($1::interval + interval '5 minutes')::text as t", [config.uploadTimeout]);
  return {
    uploadTimeoutMs: ms.UPLOAD_TIMEOUT!,
    shutdownGraceMs: ms.SHUTDOWN_GRACE!,
    interruptedAfter: config.interruptedAfter ?? rows[0].t,
  };
}
