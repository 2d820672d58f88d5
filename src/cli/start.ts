/**
 * `npm start`: checks the configuration, the database (DATABASE_URL, or an embedded PostgreSQL
 * under .data/), its migrations, then the worker, until SIGTERM or SIGINT.
 */
import pg from "pg";
import { checkConfig, ConfigError, resolveDurations } from "../config.js";
import { resolveDatabase, type ResolvedDatabase } from "../db/database.js";
import { prepareDatabase } from "../db/migrate.js";
import { errorText, GateClosedError, isConnectionError, waitForDatabase } from "../db/pool.js";
import type { OutcomeJournal } from "../journal.js";
import { jsonLogger } from "../log.js";
import { openUploadRunning } from "../scheduler.js";
import { startScheduler, type Scheduler } from "../worker.js";

const logger = jsonLogger({ service: "upload-scheduler", pid: process.pid });
let database: ResolvedDatabase | undefined;
let journal: OutcomeJournal | undefined;
let scheduler: Scheduler | undefined;

async function shutdown(reason: string, exitCode = 0) {
  logger.info("shutting down", { reason });
  try {
    try {
      await scheduler?.stop();
      await journal?.close();
    } finally {
      await database?.stop();
    }
    logger.info("stopped");
  } catch (error) {
    logger.error("could not shut down in order", { error: errorText(error) });
    exitCode = 1;
  }
  process.exit(exitCode);
}

let signalled = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (signalled) {
      logger.warn("second signal: exiting now", { signal });
      database?.embedded?.stopNow();
      process.exit(1);
    }
    signalled = true;
    void shutdown(signal);
  });
}

// Graphile Worker 0.17 does not await some of its promises. A rejection there is logged, and the
// worker goes on: the database being away must never end the process.
process.on("unhandledRejection", (reason) => {
  if (reason instanceof GateClosedError) logger.warn("a Graphile Worker statement still waiting for a connection at shutdown was dropped", { error: reason.message });
  else if (isConnectionError(reason)) logger.warn("database connection lost under Graphile Worker; it reconnects", { error: errorText(reason) });
  else logger.error("unhandled rejection; the worker goes on", { error: errorText(reason) });
});
process.on("uncaughtException", (error) => {
  logger.error("uncaught exception: shutting down in order", { error: errorText(error), stack: error.stack });
  if (!signalled) {
    signalled = true;
    void shutdown("uncaught exception", 1);
  }
});

try {
  // Every bad number, folder and the plug-in at once; durations once PostgreSQL can parse them.
  const { config, problems } = checkConfig();
  const running = await openUploadRunning(config, logger, problems);
  journal = running.journal;

  database = await resolveDatabase({ ...config, databaseUrl: config.databaseUrl, notice: (message) => logger.warn(message) });
  if (database.embedded) {
    logger.info("embedded PostgreSQL started", { data_dir: config.dataDir, port: config.embeddedPort });
    database.embedded.supervise({
      restarting: (how) => logger.error("embedded PostgreSQL exited unexpectedly; starting it again", { how }),
      restarted: () => logger.info("embedded PostgreSQL started again"),
      giveUp: (reason) => {
        logger.error(`embedded PostgreSQL could not be started again; the worker stops: ${reason}`);
        if (!signalled) {
          signalled = true;
          void shutdown("embedded PostgreSQL gone", 1);
        }
      },
    });
  } else {
    await waitForDatabase(database.url, logger);
  }
  const prepared = await prepareDatabase(database.url, config.migrateDatabaseUrl, {
    changed: ({ migrations, sqlFiles, privileges, tries }) => {
      if (migrations.length > 0 || sqlFiles.length > 0 || privileges > 0) {
        logger.info("schema changes applied", { migrations, sql_files: sqlFiles.length, sql_from: sqlFiles[0], privileges, tries });
      } else {
        logger.info("database is up to date: nothing applied");
      }
    },
  });
  if (prepared === "checked") logger.info("database is up to date (migrations are applied by its owner)");
  const probe = new pg.Pool({ connectionString: database.url, max: 1 });
  const durations = await resolveDurations(probe, config).finally(() => probe.end());
  logger.info("uploading with", {
    media_process: config.mediaProcessModule ?? `built-in local destination (${config.uploadDir})`,
    ...(config.mediaProcessModule ? {} : { source_roots: config.sourceRoots.length ? config.sourceRoots : "any file this process can read (set SOURCE_ROOTS when tenants write source_path)" }),
  });
  if (!signalled) {
    scheduler = await startScheduler({ databaseUrl: database.url, config, durations, running, logger });
    // Once everything runs: the lines to act on, each on a line of its own.
    if (database.embedded) {
      logger.info("connect with psql to the URL on the next line");
      console.log(database.url);
    }
    if (scheduler.httpUrl) console.log(`Dashboard, health and metrics: ${scheduler.httpUrl}`);
  }
} catch (error) {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) logger.error("could not start", { error: problem });
  } else {
    logger.error("could not start", { error: errorText(error) });
  }
  await journal?.close().catch(() => {});
  await database?.stop().catch(() => {});
  process.exit(1);
}
