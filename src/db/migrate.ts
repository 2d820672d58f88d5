import { readdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { Logger as GraphileLogger, runMigrations } from "graphile-worker";
import { applyChanges, PROJECT_ROOT, withStartupLock, type SchemaChanges } from "./apply.js";

export { PROJECT_ROOT, type SchemaChanges } from "./apply.js";

/**
 * What `npm run db:migrate` does: the committed migrations not yet applied and the files of sql/
 * that changed since they were (see src/db/apply.ts), under the start-up lock; nothing else.
 */
export async function migrateDatabase(databaseUrl: string): Promise<SchemaChanges> {
  return withStartupLock(databaseUrl, (client) => applyChanges(client, databaseUrl));
}

/**
 * What `npm start` does before it runs: what `migrateDatabase` does, Graphile Worker's schema and
 * the worker role's grants on the queue, all under the start-up lock, applied through `migrateUrl`
 * (MIGRATE_DATABASE_URL, the owner) when it is given. When nothing changed, it changes nothing and
 * locks no table of the scheduler; `changed` hears what it applied. Without it, `runUrl` (DATABASE_URL) migrates when its role
 * may; a least-privilege role (e.g. one granted upload_scheduler_worker) only checks that the
 * database is up to date, and says what to do when it is not.
 */
export async function prepareDatabase(
  runUrl: string,
  migrateUrl: string | undefined,
  options: { changed?: (changes: SchemaChanges) => void } = {},
): Promise<"migrated" | "checked"> {
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
  const changes = await withStartupLock(url, async (client) => {
    // On a connection of its own, while this one holds the lock: when its schema is current,
    // Graphile Worker's runMigrations only reads graphile_worker.migrations.
    await runMigrations({ connectionString: url, logger: silentGraphileLogger() });
    // The worker role's grants on the queue, after the queue's schema is in place; it compares
    // them with the catalog and changes only what differs.
    return applyChanges(client, url, { after: (c) => c.query("select upload_scheduler_private.grant_queue_to_worker()").then(() => {}) });
  });
  options.changed?.(changes);
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

async function hasQueueSchema(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query("select to_regclass('graphile_worker.migrations') is not null as ok");
    return rows[0].ok === true;
  } finally {
    await client.end();
  }
}

/** The committed migrations the database has not applied yet. */
async function pendingMigrations(url: string): Promise<string[]> {
  const committed = readdirSync(path.join(PROJECT_ROOT, "migrations", "committed")).filter((f) => /^\d{6}/.test(f)).sort();
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
