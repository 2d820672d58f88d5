import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";
import pg from "pg";
import { Logger as GraphileLogger, runMigrations } from "graphile-worker";

/**
 * The package's own folder (the one holding .gmrc, migrations/, sql/ and crontab), from the
 * sources (src/db) and from the build (dist/src/db) alike.
 */
export const PROJECT_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, ".gmrc")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

/**
 * Applies the committed migrations and re-applies the functions of sql/, exactly as
 * `npm run db:migrate` does (graphile-migrate reads .gmrc; --forceActions runs the
 * afterAllMigrations actions even when no migration is pending).
 */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  // graphile-migrate gives up at once when another process holds its lock; workers starting
  // together on several machines queue up on this lock instead.
  const lock = new pg.Client({ connectionString: databaseUrl });
  await lock.connect();
  try {
    await lock.query("select pg_advisory_lock(hashtext('upload_scheduler: migrate'))");
    await runGraphileMigrate(databaseUrl);
  } finally {
    await lock.end();
  }
}

function runGraphileMigrate(databaseUrl: string): Promise<void> {
  // Resolved like an import, so it is found wherever npm put it (hoisted when this package is a dependency).
  const cli = path.join(path.dirname(createRequire(import.meta.url).resolve("graphile-migrate/package.json")), "dist", "cli.js");
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "migrate", "--forceActions"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`graphile-migrate migrate failed (exit ${code}):\n${output}`)),
    );
  });
}

/**
 * What `npm start` does before it runs: the scheduler's migrations and Graphile Worker's schema,
 * applied through `migrateUrl` (MIGRATE_DATABASE_URL, the owner) when it is given, and the
 * worker role's grants on the queue. Without it, `runUrl` (DATABASE_URL) migrates when its role
 * may; a least-privilege role (e.g. one granted upload_scheduler_worker) only checks that the
 * database is up to date, and says what to do when it is not.
 */
export async function prepareDatabase(runUrl: string, migrateUrl: string | undefined): Promise<"migrated" | "checked"> {
  const url = migrateUrl ?? runUrl;
  if (!migrateUrl && !(await mayMigrate(runUrl))) {
    const pending = await pendingMigrations(runUrl);
    if (pending.length > 0) {
      throw new Error(
        `the database needs ${pending.length} migration(s) (${pending[0]}…) and this role may not apply them: ` +
          "set MIGRATE_DATABASE_URL to the schema owner's connection, or run `npm run db:migrate` as the owner",
      );
    }
    if (!(await hasQueueSchema(runUrl))) {
      throw new Error(
        "Graphile Worker's schema (graphile_worker) is not installed and this role may not install it: " +
          "set MIGRATE_DATABASE_URL to the schema owner's connection (once is enough)",
      );
    }
    return "checked";
  }
  await migrateDatabase(url);
  await runMigrations({ connectionString: url, logger: silentGraphileLogger() });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("select upload_scheduler_private.grant_queue_to_worker()");
  } finally {
    await client.end();
  }
  return "migrated";
}

/** Whether the role of `url` owns the scheduler's schema (or may create it). */
async function mayMigrate(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`
      select coalesce(
        (select pg_has_role(current_user, n.nspowner, 'USAGE') from pg_namespace n where n.nspname = 'upload_scheduler'),
        has_database_privilege(current_database(), 'CREATE')) as may`);
    return rows[0].may === true;
  } finally {
    await client.end();
  }
}

export async function hasQueueSchema(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query("select to_regclass('graphile_worker.migrations') is not null as ok");
    return rows[0].ok === true;
  } finally {
    await client.end();
  }
}

/** The migrations this package holds (migrations/committed), in order. */
export function committedMigrations(): string[] {
  return readdirSync(path.join(PROJECT_ROOT, "migrations", "committed")).filter((f) => /^\d{6}/.test(f)).sort();
}

/** The committed migrations the database has not applied yet. */
export async function pendingMigrations(url: string): Promise<string[]> {
  const committed = committedMigrations();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      "select filename from graphile_migrate.migrations where to_regclass('graphile_migrate.migrations') is not null",
    ).catch(() => ({ rows: [] as Array<{ filename: string }> }));
    // graphile-migrate records a migration as "000007.sql", without the message's slug.
    const applied = new Set(rows.map((r) => parseInt(r.filename, 10)));
    return committed.filter((f) => !applied.has(parseInt(f, 10)));
  } finally {
    await client.end();
  }
}

function silentGraphileLogger() {
  // graphile-worker's Logger, quiet: the runner logs through its own logger once it runs.
  return new GraphileLogger(() => () => {});
}
