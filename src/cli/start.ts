/**
 * `npm start`: the database (DATABASE_URL, or an embedded PostgreSQL under .data/), its
 * migrations, then the worker, until SIGTERM or SIGINT.
 */
import pg from "pg";
import { readConfig, resolveDurations } from "../config.js";
import { resolveDatabase, type ResolvedDatabase } from "../db/database.js";
import { prepareDatabase } from "../db/migrate.js";
import { jsonLogger } from "../log.js";
import { localDestination } from "../media/local-destination.js";
import { loadMediaProcess } from "../media/plugin.js";
import { startScheduler, type Scheduler } from "../worker.js";

const logger = jsonLogger({ service: "upload-scheduler", pid: process.pid });
const config = readConfig();
let database: ResolvedDatabase | undefined;
let scheduler: Scheduler | undefined;

async function shutdown(signal: string) {
  logger.info("shutting down", { signal });
  try {
    await scheduler?.stop();
  } finally {
    await database?.stop();
  }
  logger.info("stopped");
  process.exit(0);
}

let signalled = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (signalled) {
      logger.warn("second signal: exiting now", { signal });
      process.exit(1);
    }
    signalled = true;
    void shutdown(signal);
  });
}

try {
  database = await resolveDatabase({ ...config, databaseUrl: config.databaseUrl });
  if (database.embedded) {
    logger.info("embedded PostgreSQL started; connect with psql to the URL on the next line", { data_dir: config.dataDir });
    console.log(database.url);
  }
  const prepared = await prepareDatabase(database.url, config.migrateDatabaseUrl);
  if (prepared === "checked") logger.info("database is up to date (migrations are applied by its owner)");
  const probe = new pg.Pool({ connectionString: database.url, max: 1 });
  const durations = await resolveDurations(probe, config).finally(() => probe.end());
  const mediaProcess = config.mediaProcessModule
    ? await loadMediaProcess(config.mediaProcessModule)
    : localDestination(config.uploadDir);
  logger.info("uploading with", { media_process: config.mediaProcessModule ?? `built-in local destination (${config.uploadDir})` });
  if (!signalled) scheduler = await startScheduler({ databaseUrl: database.url, config, durations, mediaProcess, logger });
} catch (error) {
  logger.error("could not start", { error: (error as Error).message });
  await database?.stop();
  process.exit(1);
}
