/**
 * `pg-upload-scheduler start` (`npm start`): checks the configuration, the database
 * (DATABASE_URL, or an embedded PostgreSQL under .data/), its migrations, then runs the worker,
 * until SIGTERM or SIGINT.
 */
import { pathToFileURL } from "node:url";
import pg from "pg";
import { checkConfig, ConfigError, resolveDurations } from "../config.js";
import { resolveDatabase, type ResolvedDatabase } from "../db/database.js";
import { prepareDatabase } from "../db/migrate.js";
import { errorText, GateClosedError, isConnectionError, waitForDatabase } from "../db/pool.js";
import type { OutcomeJournal } from "../journal.js";
import { createLogger } from "../log.js";
import { openUploadRunning } from "../scheduler.js";
import { startScheduler, type Scheduler } from "../worker.js";

/** Runs the worker in this process: it handles SIGTERM and SIGINT, and ends the process itself. */
export async function start(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Read first: the logger's level and format are settings too. Their problems are told with the others.
  const { config, problems } = checkConfig(env);
  const logger = createLogger({
    level: config.logLevel,
    ...(config.logFormat ? { format: config.logFormat } : {}),
    base: { service: "upload-scheduler", pid: process.pid },
  });
  let database: ResolvedDatabase | undefined;
  let journal: OutcomeJournal | undefined;
  let scheduler: Scheduler | undefined;

  async function shutdown(reason: string, exitCode = 0) {
    logger.info("shutting_down", `shutting down (${reason})`, { reason });
    try {
      try {
        await scheduler?.stop();
        await journal?.close();
      } finally {
        await database?.stop();
      }
      logger.info("stopped", "stopped");
    } catch (error) {
      logger.error("shutdown_failed", "could not shut down in order", { error: errorText(error) });
      exitCode = 1;
    }
    process.exit(exitCode);
  }

  let signalled = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (signalled) {
        logger.warn("second_signal", "second signal: exiting now", { signal });
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
    if (reason instanceof GateClosedError) {
      logger.warn("statement_dropped_at_shutdown", "a Graphile Worker statement still waiting for a connection at shutdown was dropped", { error: reason.message });
    } else if (isConnectionError(reason)) {
      logger.warn("graphile_worker_connection_lost", "database connection lost under Graphile Worker; it reconnects", { error: errorText(reason) });
    } else {
      logger.error("unhandled_rejection", "unhandled rejection; the worker goes on", { error: errorText(reason) });
    }
  });
  process.on("uncaughtException", (error) => {
    logger.error("uncaught_exception", "uncaught exception: shutting down in order", { error: errorText(error), stack: error.stack });
    if (!signalled) {
      signalled = true;
      void shutdown("uncaught exception", 1);
    }
  });

  try {
    // Every bad number, folder and the plug-in at once; durations once PostgreSQL can parse them.
    const running = await openUploadRunning(config, logger, problems);
    journal = running.journal;

    database = await resolveDatabase({
      ...config,
      databaseUrl: config.databaseUrl,
      notice: (message) => logger.warn("embedded_postgres_notice", message),
    });
    if (database.embedded) {
      logger.info("embedded_postgres_started", "embedded PostgreSQL started", { data_dir: config.dataDir, port: config.embeddedPort });
      database.embedded.supervise({
        restarting: (how) => logger.error("embedded_postgres_exited", "embedded PostgreSQL exited unexpectedly; starting it again", { how }),
        restarted: () => logger.info("embedded_postgres_restarted", "embedded PostgreSQL started again"),
        giveUp: (reason) => {
          logger.error("embedded_postgres_gone", `embedded PostgreSQL could not be started again; the worker stops: ${reason}`, { reason });
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
          logger.info("migrations_applied", "schema changes applied", { migrations, sql_files: sqlFiles.length, sql_from: sqlFiles[0], privileges, tries });
        } else {
          logger.info("database_checked", "database is up to date: nothing applied");
        }
      },
    });
    if (prepared === "checked") logger.info("database_checked", "database is up to date (migrations are applied by its owner)");
    else logger.info("migrations_applied", "migrations applied");
    const probe = new pg.Pool({ connectionString: database.url, max: 1 });
    const durations = await resolveDurations(probe, config).finally(() => probe.end());
    logger.info("upload_destination", "uploading with", {
      media_process: config.mediaProcessModule ?? `built-in local destination (${config.uploadDir})`,
      ...(config.mediaProcessModule ? {} : { source_roots: config.sourceRoots.length ? config.sourceRoots : "any file this process can read (set SOURCE_ROOTS when tenants write source_path)" }),
    });
    if (!signalled) {
      scheduler = await startScheduler({ databaseUrl: database.url, config, durations, running, logger });
      // Once everything runs: the lines to act on, each on a line of its own.
      if (database.embedded) {
        logger.info("psql_url", "connect with psql to the URL on the next line");
        console.log(database.url);
      }
      if (scheduler.httpUrl) console.log(`Dashboard, health and metrics: ${scheduler.httpUrl}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) logger.error("start_failed", "could not start", { error: problem });
    } else {
      logger.error("start_failed", "could not start", { error: errorText(error) });
    }
    await journal?.close().catch(() => {});
    await database?.stop().catch(() => {});
    process.exit(1);
  }
}

// `node src/cli/start.ts` (under tsx) still starts the worker, as it did before the CLI.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await start();
