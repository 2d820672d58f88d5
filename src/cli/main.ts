#!/usr/bin/env node
/** `pg-upload-scheduler <command>`: the package's command line (its `bin`). */
import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../db/migrate.js";

const HELP = `pg-upload-scheduler: a Postgres-native video upload scheduler

Usage: pg-upload-scheduler <command> [--json]

Commands:
  start     run the scheduler until SIGTERM or SIGINT (what npm start runs): migrations, then
            Graphile Worker with the crontab's tick every minute, the uploads, and the HTTP
            endpoint (dashboard, /healthz, /readyz, /metrics) on HTTP_HOST:HTTP_PORT.
            Uses DATABASE_URL; when it is unset, an embedded PostgreSQL under DATA_DIR (.data/).
  migrate   apply the scheduler's migrations and functions (as npm run db:migrate), Graphile
            Worker's schema and the worker role's grants, to MIGRATE_DATABASE_URL or DATABASE_URL.
  tick      run one tick now (upload_scheduler.run_tick) and print what it claimed and recovered;
            a running worker uploads what it claimed.
  status    the scheduler's health (upload_scheduler.health()), readable. Exit 0 when healthy: the
            last tick (of any worker) is under 2 minutes old and no upload has run longer than
            INTERRUPTED_AFTER. Exit 1 otherwise, or when the database does not answer.
  doctor    check the set-up, one line per check, and exit 1 when any fails: the settings, the
            connection, the roles upload_scheduler_worker and upload_scheduler_app, the
            migrations, the clock skew with the database (under 30 s), DATA_DIR writable, and the
            plug-in (MEDIA_PROCESS_MODULE) or the built-in destination's folders.
  help      this text (also --help or -h after any command)
  version   the package's version (also --version)

Options:
  --json    tick and status: print JSON instead of text

Without DATABASE_URL, migrate, tick, status and doctor use the embedded PostgreSQL that start runs
(127.0.0.1:EMBEDDED_PG_PORT, 54329 by default) while it runs. Every setting is an environment
variable: see docs/configuration.md.
`;

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("-")));
const [command = "help", ...extra] = args.filter((a) => !a.startsWith("-"));
const io = { out: (line: string) => console.log(line), err: (line: string) => console.error(line) };

function version(): string {
  return JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")).version;
}

async function main(): Promise<number | "running"> {
  if (flags.has("--version")) {
    io.out(version());
    return 0;
  }
  if (flags.has("--help") || flags.has("-h") || command === "help") {
    io.out(HELP);
    return 0;
  }
  const unknown = [...flags].filter((f) => f !== "--json");
  if (extra.length || unknown.length || (flags.has("--json") && command !== "tick" && command !== "status")) {
    io.err(`pg-upload-scheduler ${command}: unexpected ${[...extra, ...unknown].join(" ") || "--json"}; see pg-upload-scheduler --help`);
    return 2;
  }
  const json = flags.has("--json");
  switch (command) {
    case "start": {
      const { start } = await import("./start.js");
      await start();
      // The worker runs until a signal; start() ends the process itself.
      return "running";
    }
    case "migrate":
      return (await import("./commands.js")).migrate(process.env, io);
    case "tick":
      return (await import("./commands.js")).tick(process.env, io, { json });
    case "status":
      return (await import("./commands.js")).status(process.env, io, { json });
    case "doctor":
      return (await import("./commands.js")).doctor(process.env, io);
    case "version":
      io.out(version());
      return 0;
    default:
      io.err(`pg-upload-scheduler: no command "${command}": use start, migrate, tick, status or doctor (see pg-upload-scheduler --help)`);
      return 2;
  }
}

const code = await main();
if (code !== "running") process.exit(code);
