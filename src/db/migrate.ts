import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Applies the committed migrations and re-applies the functions of sql/, exactly as
 * `npm run db:migrate` does (graphile-migrate reads .gmrc; --forceActions runs the
 * afterAllMigrations actions even when no migration is pending).
 */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  const bin = path.join(PROJECT_ROOT, "node_modules", ".bin", "graphile-migrate");
  await new Promise<void>((resolve, reject) => {
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
