/**
 * How the schema reaches a database, for `npm start` and `npm run db:migrate` alike:
 * graphile-migrate's committed migrations, then the files of sql/ whose text changed since they
 * were last applied, all in one transaction that holds the start-up lock.
 *
 * - The files of sql/ are the ones .gmrc's `afterAllMigrations` lists, in that order: .gmrc is
 *   the one list (graphile-migrate's own CLI reads it too). Nothing here knows a file's name or
 *   what it defines.
 * - Each applied file's SHA-256 is recorded in upload_scheduler_deploy.applied_sql_files, by its
 *   place in the list. A start applies the first file whose path or text differs from the record,
 *   and every file after it: a later file may call, or be dropped with, what an earlier one
 *   re-creates, and the last (roles and privileges) must follow every new function. A pending
 *   migration re-applies every file, as graphile-migrate's afterAllMigrations did: a migration
 *   may drop what sql/ defines. When nothing changed, nothing is applied: no lock is taken on a
 *   table of the scheduler.
 * - Starts and migrations take turns on `LOCK TABLE upload_scheduler_deploy.startup_lock IN
 *   EXCLUSIVE MODE`, waited for (queued), held until the transaction ends. No role but the
 *   schema's owner has any privilege on that schema, not even USAGE: with USAGE, a role can hold
 *   ACCESS EXCLUSIVE on any table of a schema from a failed CREATE RULE left in an open
 *   transaction, and so could stall every start (the scheduler's roles have USAGE on
 *   upload_scheduler_private, so the lock cannot live there).
 * - The changes are tried under a lock_timeout shorter than the server's deadlock_timeout, and
 *   tried again after a pause when it expires: a start never waits for a running worker's tick
 *   long enough for either to be chosen as a deadlock's victim, and never makes the ticks queue
 *   behind it for long.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";
import pg from "pg";

/**
 * The package's own folder (the one holding .gmrc, migrations/, sql/ and crontab), from the
 * sources (src/db) and from the build (dist/src/db) alike.
 */
export const PROJECT_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, ".gmrc")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

/** The schema of the applier's lock and record. Only its owner, the migrating role, may use it. */
export const DEPLOY_SCHEMA = "upload_scheduler_deploy";

// graphile-migrate's own functions, so migrations are read, checked, run and recorded exactly as
// its `migrate` does. Its `migrate` itself is not called: it takes a session advisory lock with
// pg_try_advisory_lock (any role may take that key, and a second start fails at once) and runs
// each migration in a transaction of its own (the start-up lock must span them all).
const requireFromMigrate = createRequire(createRequire(import.meta.url).resolve("graphile-migrate/package.json"));
const gmMigration = requireFromMigrate("./dist/migration.js") as {
  getAllMigrations(settings: ParsedSettings): Promise<CommittedMigration[]>;
  generatePlaceholderReplacement(settings: ParsedSettings, context: { database: string }): (text: string) => string;
  _migrateMigrationSchema(client: pg.ClientBase, settings: ParsedSettings): Promise<void>;
};
const gmSettings = requireFromMigrate("./dist/settings.js") as { parseSettings(settings: object): Promise<ParsedSettings> };
const gmHash = requireFromMigrate("./dist/hash.js") as { calculateHash(body: string, previousHash: string | null): string };
const gmHeader = requireFromMigrate("./dist/header.js") as { isNoTransactionDefined(sql: string): boolean };
// .gmrc is JSON5, read with the parser graphile-migrate reads it with.
const JSON5 = requireFromMigrate("json5") as { parse(text: string): any };

/** graphile-migrate's parsed .gmrc, as far as this file reads it. */
export interface ParsedSettings {
  databaseName: string;
  migrationsFolder: string;
}

/** A committed migration as graphile-migrate reads it. */
export interface CommittedMigration {
  realFilename: string;
  filename: string;
  hash: string;
  previousHash: string | null;
  allowInvalidHash: boolean;
  body: string;
}

export interface SqlFile {
  /** Relative to the project's folder, e.g. "sql/000_weekday_name.sql". */
  file: string;
  text: string;
}

/** What one start or `db:migrate` changed: none of either when the database was up to date. */
export interface SchemaChanges {
  /** The committed migrations applied (their file names). */
  migrations: string[];
  /** The files of sql/ applied, in order. */
  sqlFiles: string[];
  /** Privileges and policies changed by the `after` step (the roles' grants): 0 when all were in place. */
  privileges: number;
  /** How many times the changes were tried (each time the tables they lock were busy, once more). */
  tries: number;
}

/** The files of sql/ that .gmrc's afterAllMigrations lists, in its order, with their text. */
export function listedSqlFiles(): SqlFile[] {
  const gmrc = path.join(PROJECT_ROOT, ".gmrc");
  const actions: unknown = JSON5.parse(readFileSync(gmrc, "utf8")).afterAllMigrations ?? [];
  if (!Array.isArray(actions)) throw new Error(`${gmrc}: afterAllMigrations is not a list; list the files of sql/ in it, in the order they are applied`);
  const migrationsFolder = path.join(PROJECT_ROOT, "migrations");
  return actions.map((action) => {
    // graphile-migrate's forms of an SQL action: "file" or { _: "sql", file }. A root action
    // ("!file", root: true) needs a superuser connection and a command action runs a program:
    // neither has a place in a start.
    const file = typeof action === "string" ? action : action?._ === "sql" && !action.root && action.shadow !== true ? action.file : undefined;
    if (typeof file !== "string" || file.startsWith("!")) {
      throw new Error(
        `${gmrc}: afterAllMigrations entry ${JSON.stringify(action)} is not the path of an SQL file: ` +
          "the start-up applier applies only SQL files (relative to migrations/), as the owner; list them as strings",
      );
    }
    const full = path.resolve(migrationsFolder, file);
    if (!existsSync(full)) throw new Error(`${gmrc} lists ${file}, and ${full} does not exist: fix the path in afterAllMigrations`);
    return { file: path.relative(PROJECT_ROOT, full), text: readFileSync(full, "utf8") };
  });
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Runs `work` in a transaction on `url` that holds the start-up lock, waiting for it as long as
 * another start or migration holds it (workers starting together on several machines queue up),
 * and commits. Creates the lock first when the database has none (a new database).
 */
export async function withStartupLock<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "upload-scheduler: migrate" });
  await client.connect();
  try {
    await ensureDeploySchema(client);
    await client.query("begin");
    // Queue for as long as it takes, whatever the server's or the role's defaults, and keep the
    // transaction through the pauses between tries (applyChanges).
    await client.query("set local lock_timeout = 0");
    await client.query("set local idle_in_transaction_session_timeout = 0");
    try {
      await client.query(`lock table ${DEPLOY_SCHEMA}.startup_lock in exclusive mode`);
    } catch (error: any) {
      if (error?.code !== "42501") throw error;
      await client.query("rollback");
      const { rows: [who] } = await client.query(
        "select current_user as me, (select pg_get_userbyid(nspowner) from pg_namespace where nspname = $1) as owner",
        [DEPLOY_SCHEMA],
      );
      throw new Error(
        `role ${who.me} may not take the start-up lock: schema ${DEPLOY_SCHEMA} belongs to ${who.owner}, and only its owner migrates. ` +
          `Migrate as ${who.owner} (MIGRATE_DATABASE_URL, or npm run db:migrate with its DATABASE_URL), or make ${who.me} its owner ` +
          `(alter schema ${DEPLOY_SCHEMA} owner to ${who.me}, and the same for its two tables)`,
      );
    }
    const result = await work(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Creates the applier's schema, lock and record when they are missing. They cannot come from a
 * migration: the lock must exist before the first migration runs, to make migrations take turns.
 * Starts racing on a new database may both try; the loser of a catalog race tries again and
 * then finds them.
 */
async function ensureDeploySchema(client: pg.ClientBase): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    // Read from the catalog: to_regclass() would fail for a role without USAGE on the schema,
    // and the lock's own error names the owner to migrate as.
    const { rows } = await client.query(
      `select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and c.relname in ('startup_lock', 'applied_sql_files')`,
      [DEPLOY_SCHEMA],
    );
    if (rows[0].n === 2) return;
    try {
      await client.query(`
        begin;
        create schema if not exists ${DEPLOY_SCHEMA};
        comment on schema ${DEPLOY_SCHEMA} is
          E'The upload scheduler''s start-up applier: its lock and its record of the sql/ files applied. Its owner''s alone: no other role may use it.';
        revoke all on schema ${DEPLOY_SCHEMA} from public;
        create table if not exists ${DEPLOY_SCHEMA}.startup_lock ();
        comment on table ${DEPLOY_SCHEMA}.startup_lock is
          E'Never written: every start and migration locks it IN EXCLUSIVE MODE for its whole transaction, so they take turns.';
        create table if not exists ${DEPLOY_SCHEMA}.applied_sql_files (
          position integer primary key check (position >= 0),
          file text not null,
          sha256 text not null,
          applied_at timestamptz not null default now()
        );
        comment on table ${DEPLOY_SCHEMA}.applied_sql_files is
          E'The files of sql/ as last applied, in .gmrc''s order (position from 0): a start applies the first file that differs and every file after it. Delete the rows to have the next start apply every file again.';
        commit;`);
      return;
    } catch (error: any) {
      await client.query("rollback").catch(() => {});
      // unique_violation (a catalog race), duplicate_schema, duplicate_table, duplicate_object.
      if (attempt < 5 && ["23505", "42P06", "42P07", "42710"].includes(error?.code)) continue;
      throw new Error(`could not create the start-up lock (schema ${DEPLOY_SCHEMA}): ${error?.message}. The migrating role needs CREATE on the database (it creates the scheduler's schemas too)`);
    }
  }
}

/** What a run applies, read from the files before it takes the lock. */
export interface SchemaSources {
  settings: ParsedSettings;
  committed: CommittedMigration[];
  files: Array<{ file: string; sql: string; sha256: string }>;
  placeholders: (text: string) => string;
}

/**
 * The committed migrations (read and checked as graphile-migrate does) and the listed files of
 * sql/, with graphile-migrate's placeholders replaced (:DATABASE_NAME, :DATABASE_OWNER and .gmrc's
 * own), each with the SHA-256 of the text to apply.
 */
export async function readSchemaSources(url: string): Promise<SchemaSources> {
  const settings = await gmSettings.parseSettings({
    ...JSON5.parse(readFileSync(path.join(PROJECT_ROOT, ".gmrc"), "utf8")),
    connectionString: url,
    migrationsFolder: path.join(PROJECT_ROOT, "migrations"),
  });
  const placeholders = gmMigration.generatePlaceholderReplacement(settings, { database: settings.databaseName });
  const files = listedSqlFiles().map(({ file, text }) => {
    const sql = placeholders(text);
    return { file, sql, sha256: sha256(sql) };
  });
  return { settings, committed: await gmMigration.getAllMigrations(settings), files, placeholders };
}

/**
 * Applies, in the transaction of `client` (which holds the start-up lock), the committed
 * migrations not yet applied and the files of sql/ that changed, then `after` (what every run
 * does, which changes nothing when nothing differs; it returns how many things it changed).
 * Tried again when a table it locks is busy beyond the lock timeout, until `giveUpAfterMs`.
 */
export async function applyChanges(
  client: pg.ClientBase,
  { settings, committed, files, placeholders }: SchemaSources,
  options: { after?: (client: pg.ClientBase) => Promise<number>; giveUpAfterMs?: number } = {},
): Promise<SchemaChanges> {
  const pending = await pendingMigrations(client, committed);
  const { rows: recorded } = await client.query<{ position: number; file: string; sha256: string }>(
    `select position, file, sha256 from ${DEPLOY_SCHEMA}.applied_sql_files order by position`,
  );
  let from = pending.length > 0 ? 0 : files.findIndex((f, i) => recorded[i]?.file !== f.file || recorded[i]?.sha256 !== f.sha256);
  if (from === -1 && recorded.length !== files.length) from = files.length; // only the record's tail to drop
  if (from === -1 && !options.after) return { migrations: [], sqlFiles: [], privileges: 0, tries: 0 };

  const { rows: [{ ms: deadlockMs }] } = await client.query(
    "select greatest(1, extract(epoch from current_setting('deadlock_timeout')::interval) * 1000)::int as ms",
  );
  // A lock is waited for at most a fifth of deadlock_timeout (1 s by default), 200 ms at most,
  // and less as the try goes on, so that its waits end about deadlock_timeout after it began (a
  // file that waits for several tables in turn may overrun that by its later waits). A session
  // that waits for a lock this try took started waiting after the try began; when the server
  // looks for a deadlock on that session's behalf, this try has stopped waiting, or has given
  // every lock back: a running worker's tick is not chosen as a deadlock's victim because of a
  // start, and neither is the start.
  const lockTimeoutMs = Math.min(200, Math.max(1, Math.floor(deadlockMs / 5)));
  const deadline = Date.now() + (options.giveUpAfterMs ?? 5 * 60_000);
  for (let tries = 1; ; tries++) {
    const waitsEnd = Date.now() + deadlockMs * 0.9;
    const waitingAtMost = () =>
      client.query(`set local lock_timeout = '${Math.max(1, Math.min(lockTimeoutMs, Math.floor(waitsEnd - Date.now())))}ms'`);
    await client.query("savepoint apply_changes");
    try {
      if (pending.length > 0) {
        await waitingAtMost();
        await gmMigration._migrateMigrationSchema(client, settings);
        for (const migration of pending) {
          await waitingAtMost();
          await runMigration(client, migration, placeholders);
        }
      }
      if (from !== -1) {
        for (const f of files.slice(from)) {
          await waitingAtMost();
          await client.query(f.sql).catch(explain(f.file, "fix the file and start again"));
        }
        await client.query(`delete from ${DEPLOY_SCHEMA}.applied_sql_files where position >= $1`, [from]);
        await client.query(
          `insert into ${DEPLOY_SCHEMA}.applied_sql_files (position, file, sha256)
           select position - 1, file, sha256 from unnest($1::text[], $2::text[]) with ordinality as f(file, sha256, position) where position - 1 >= $3`,
          [files.map((f) => f.file), files.map((f) => f.sha256), from],
        );
      }
      await waitingAtMost();
      const privileges = (await options.after?.(client)) ?? 0;
      await client.query("release savepoint apply_changes");
      return { migrations: pending.map((m) => m.realFilename), sqlFiles: from === -1 ? [] : files.slice(from).map((f) => f.file), privileges, tries };
    } catch (error: any) {
      await client.query("rollback to savepoint apply_changes");
      // lock_not_available (the lock timeout), deadlock_detected: a table was busy; the savepoint
      // gave back every lock this try took, so the workers go on, and this start tries again.
      if (!RETRIED.includes(error?.code)) throw error;
      if (Date.now() > deadline) {
        throw new Error(
          `could not apply the schema's changes: the tables they lock stayed busy for ${Math.round((options.giveUpAfterMs ?? 300_000) / 1000)} s ` +
            `(${tries} tries, each waiting at most ${lockTimeoutMs} ms for a lock; the last ${error.where ? `in ${error.where}` : "after the files"}: ${error.message}). ` +
            "Find what holds them (pg_locks, pg_stat_activity) and start again",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** Math.min(tries, 6)) * (0.5 + Math.random())));
    }
  }
}

/** The committed migrations the database has not applied, in order (graphile-migrate's rule: after the last applied). */
async function pendingMigrations(client: pg.ClientBase, committed: CommittedMigration[]): Promise<CommittedMigration[]> {
  const { rows: [{ exists }] } = await client.query("select to_regclass('graphile_migrate.migrations') is not null as exists");
  const { rows } = exists ? await client.query<{ filename: string | null }>("select max(filename) as filename from graphile_migrate.migrations") : { rows: [] };
  const last = rows[0]?.filename ?? null;
  return committed.filter((m) => last === null || m.filename > last);
}

/** graphile-migrate's runCommittedMigration, in the caller's transaction. */
async function runMigration(client: pg.ClientBase, migration: CommittedMigration, placeholders: (text: string) => string): Promise<void> {
  const where = `migrations/committed/${migration.realFilename}`;
  const hashIsInvalid = gmHash.calculateHash(migration.body, migration.previousHash) !== migration.hash;
  if (hashIsInvalid && !migration.allowInvalidHash) {
    throw new Error(`${where} does not match its hash: a committed migration is never edited; restore it (git checkout) and write a new migration instead`);
  }
  const sql = placeholders(migration.body);
  if (gmHeader.isNoTransactionDefined(sql)) {
    throw new Error(
      `${where} is marked --! no-transaction, and the applier runs every migration inside its locked transaction: ` +
        "apply it once with `npx graphile-migrate migrate` as the owner while no worker starts, then start again",
    );
  }
  await client.query(sql).catch(explain(where, "a committed migration is never edited: write a new one that mends it"));
  await client.query("insert into graphile_migrate.migrations (hash, previous_hash, filename) values ($1, $2, $3)", [
    migration.hash,
    migration.previousHash,
    migration.filename,
  ]);
}

const RETRIED = ["55P03", "40P01"];

/**
 * An error of a migration or file, named, with what to do; a busy table's error as it is, to be
 * tried again (nothing of the try is kept either way).
 */
function explain(where: string, whatToDo: string) {
  return (error: any): never => {
    if (RETRIED.includes(error?.code)) throw Object.assign(error, { where });
    throw Object.assign(
      new Error(`${where} failed: ${error?.message}${error?.hint ? ` (hint: ${error.hint})` : ""}. Nothing of this run was kept; ${whatToDo}`),
      { code: error?.code },
    );
  };
}
