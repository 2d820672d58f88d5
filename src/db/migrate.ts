import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import pg from "pg";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

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
  const bin = path.join(PROJECT_ROOT, "node_modules", ".bin", "graphile-migrate");
  return new Promise<void>((resolve, reject) => {
    const child = spawn(bin, ["migrate", "--forceActions"], {
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
