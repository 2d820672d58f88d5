/**
 * Runs a command with DATABASE_URL set: the caller's, or an embedded PostgreSQL under
 * `.data/` started for the command and stopped after it. `npm test` and `npm run bench`
 * go through here, so both work on a machine with no PostgreSQL at all.
 */
import { spawn } from "node:child_process";
import { resolveDatabase } from "../src/db/database.js";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: with-database.ts <command> [args…]");
  process.exit(2);
}

// A server of its own (not `npm start`'s .data/pg on 54329), so tests and the benchmark can
// run while the scheduler runs.
const database = await resolveDatabase({
  databaseUrl: process.env.DATABASE_URL,
  dataDir: ".data/tools",
  embeddedPort: 54330,
});
if (database.embedded) console.error(`Using the embedded PostgreSQL: ${database.url}`);

const child = spawn(command, args, {
  stdio: "inherit",
  env: { ...process.env, DATABASE_URL: database.url },
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => child.kill(signal));
}
const code: number = await new Promise((resolve) =>
  child.on("close", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))),
);
await database.stop();
process.exit(code);
