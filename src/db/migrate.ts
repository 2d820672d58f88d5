import { readdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { Logger as GraphileLogger, runMigrations } from "graphile-worker";
import { applyChanges, PROJECT_ROOT, readSchemaSources, withStartupLock, type SchemaChanges } from "./apply.js";

export { PROJECT_ROOT, type SchemaChanges } from "./apply.js";

/**
 * What `npm run db:migrate` does: the committed migrations not yet applied, the files of sql/
 * that changed since they were (see src/db/apply.ts) and the roles' grants where they differ,
 * under the start-up lock; nothing else.
 */
export async function migrateDatabase(databaseUrl: string): Promise<SchemaChanges> {
  const sources = await readSchemaSources(databaseUrl);
  return withStartupLock(databaseUrl, (client) => applyChanges(client, sources, { after: grantRoles }));
}

/**
 * The roles' grants and policies (sql/90_access/900_roles_and_privileges.sql), queue included: each run,
 * since they depend on more than the files (a role created since, Graphile Worker's tables
 * installed since). It compares with the catalog and changes only what differs.
 */
async function grantRoles(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query("select upload_scheduler_private.grant_roles() as changes");
  return rows[0].changes;
}

/**
 * What `npm start` does before it runs: Graphile Worker's schema, then what `migrateDatabase`
 * does (the worker role's grants on the queue included) under the start-up lock, through
 * `migrateUrl` (MIGRATE_DATABASE_URL, the owner) when it is given. When nothing changed, it
 * changes nothing and locks no table of the scheduler; `changed` hears what it applied.
 * Without `migrateUrl`, `runUrl` (DATABASE_URL) migrates when its role may; a least-privilege
 * role (e.g. one granted upload_scheduler_worker) only checks that the database is up to date,
 * and says what to do when it is not.
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
  // Read before the lock, to hold it no longer than the database needs.
  const sources = await readSchemaSources(url);
  // Graphile Worker's own migrations take turns by themselves (several Graphile Workers start
  // together as a matter of course), and when its schema is current they only read
  // graphile_worker.migrations: outside the lock, before the grants on the queue.
  await runMigrations({ connectionString: url, logger: silentGraphileLogger() });
  const changes = await withStartupLock(url, (client) => applyChanges(client, sources, { after: grantRoles }));
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
