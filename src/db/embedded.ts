import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { isProcessRunning } from "../processes.js";
import { embeddedBinaries, postgresOsUser, reachableBinaries, run, userCan, type OsUser, type PostgresBinaries } from "./postgres-binaries.js";

/**
 * A PostgreSQL server of our own under DATA_DIR/pg, for machines where DATABASE_URL is unset.
 * It runs in a process group of its own, so a Ctrl-C in the terminal reaches only the worker,
 * which then stops it in order, after the uploads.
 */
export interface EmbeddedDatabase {
  url: string;
  /** Fast shutdown, waited for. */
  stop(): Promise<void>;
  /** For a process about to exit: asks for a fast shutdown without waiting for it. */
  stopNow(): void;
  /**
   * From now on, starts the server again whenever it exits on its own; calls `giveUp` with
   * PostgreSQL's own last words when it cannot be started again.
   */
  supervise(handlers: { restarting(how: string): void; restarted(): void; giveUp(reason: string): void }): void;
}

/** What went wrong starting the embedded server, in one sentence, with PostgreSQL's own words. */
export class EmbeddedPostgresError extends Error {
  override readonly name = "EmbeddedPostgresError";
}

const USER = "postgres";
const PASSWORD = "postgres";
const DATABASE = "upload_scheduler";
/** Restart attempts after the server died, and the waits before them. */
const RESTART_DELAYS_MS = [250, 500, 1000, 2000, 4000];
/** More deaths than this within RESTART_WINDOW_MS is a crash loop: give up. */
const MAX_DEATHS = 5;
const RESTART_WINDOW_MS = 10 * 60_000;

/** The embedded server's URL, for psql, and for the CLI's commands while `start` runs it. */
export function embeddedUrl(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  /** PostgreSQL's own log lines, as it writes them. */
  log?: (line: string) => void;
  /** What this module does on its own (stopping a server an earlier run left behind). */
  notice?: (message: string) => void;
  /** Where root keeps a copy of the binaries the postgres user can run (default /var/cache/pg-upload-scheduler). */
  binariesCacheDir?: string;
}): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  const databaseDir = path.join(dataDir, "pg");
  const ownerFile = path.join(dataDir, "embedded-postgres.owner");
  const user = await postgresOsUser({ create: true });
  await mkdir(dataDir, { recursive: true });
  const bin = user ? await reachableBinaries(await embeddedBinaries(), user, options.binariesCacheDir) : await embeddedBinaries();
  if (user) await ensureReachableDataDir(databaseDir, user);
  if (!existsSync(path.join(databaseDir, "PG_VERSION"))) await initdb(bin, databaseDir, user);
  await stopOrphan(databaseDir, ownerFile, options.notice);

  const recent: string[] = [];
  let child: ChildProcess | undefined;
  let stopping = false;
  let onDeath: ((how: string) => void) | undefined;

  const spawnServer = async () => {
    recent.length = 0;
    // On 127.0.0.1 only, as the URL says: were that address taken, it fails, instead of running on ::1 alone.
    const server = spawn(bin.postgres, ["-D", databaseDir, "-p", String(options.port), "-c", "listen_addresses=127.0.0.1"], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      cwd: databaseDir,
      env: { ...process.env, LC_MESSAGES: "C" },
      ...(user ?? {}),
    });
    const lines = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        recent.push(line.trimEnd());
        if (recent.length > 20) recent.shift();
        options.log?.(line.trimEnd());
      }
    };
    server.stdout!.on("data", lines);
    server.stderr!.on("data", lines);
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        if (chunk.toString("utf8").includes("database system is ready to accept connections")) done();
      };
      const onExit = () =>
        done(new EmbeddedPostgresError(
          recent.some((line) => line.includes("Address already in use"))
            ? `the embedded PostgreSQL did not start: port ${options.port} on 127.0.0.1 is taken (another server, or another ` +
                `worker's embedded one): set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to a server to use.\n${lastWords(recent)}`
            : `the embedded PostgreSQL did not start:\n${lastWords(recent)}`,
        ));
      const onError = (error: Error) => done(new EmbeddedPostgresError(`the embedded PostgreSQL could not be run (${bin.postgres}): ${error.message}`));
      const timer = setTimeout(() => {
        server.kill("SIGQUIT");
        done(new EmbeddedPostgresError(`the embedded PostgreSQL was not ready after 60 seconds:\n${lastWords(recent)}`));
      }, 60_000);
      const done = (error?: Error) => {
        clearTimeout(timer);
        server.stderr!.off("data", onData);
        server.off("exit", onExit);
        server.off("error", onError);
        if (error) reject(error);
        else resolve();
      };
      server.stderr!.on("data", onData);
      server.on("exit", onExit);
      server.on("error", onError);
    });
    server.on("exit", (code, signal) => {
      if (stopping || child !== server) return;
      child = undefined;
      onDeath?.(`${signal ? `killed by ${signal}` : `exit code ${code}`}${recent.length ? `; its last words:\n${lastWords(recent)}` : ""}`);
    });
    child = server;
    await writeFile(ownerFile, JSON.stringify({ pid: process.pid }));
  };

  const stopNow = () => {
    stopping = true;
    child?.kill("SIGINT");
  };
  process.on("exit", stopNow);
  await spawnServer();

  const url = embeddedUrl(options.port);
  const client = new pg.Client({ host: "127.0.0.1", port: options.port, user: USER, password: PASSWORD, database: "postgres" });
  client.on("error", () => {});
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [DATABASE]);
    if (!rowCount) await client.query(`create database ${DATABASE}`);
  } finally {
    await client.end();
  }

  return {
    url,
    stopNow,
    stop: async () => {
      stopping = true;
      process.off("exit", stopNow);
      const server = child;
      if (server && server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once("exit", resolve));
        server.kill("SIGINT");
        const timer = setTimeout(() => server.kill("SIGQUIT"), 30_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(ownerFile, { force: true });
    },
    supervise: (handlers) => {
      const deaths: number[] = [];
      onDeath = async (how) => {
        deaths.push(Date.now());
        while (deaths[0]! < Date.now() - RESTART_WINDOW_MS) deaths.shift();
        handlers.restarting(how);
        if (deaths.length > MAX_DEATHS) {
          return handlers.giveUp(`it died ${deaths.length} times within ${RESTART_WINDOW_MS / 60_000} minutes: ${how}`);
        }
        let last: unknown;
        for (const delay of RESTART_DELAYS_MS) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          if (stopping) return;
          try {
            // Backends of the dead server may hold its shared memory for a moment: then it refuses, and is tried again.
            await spawnServer();
            return handlers.restarted();
          } catch (error) {
            last = error;
          }
        }
        handlers.giveUp((last as Error).message);
      };
    },
  };
}

/** The last lines PostgreSQL wrote, as it wrote them. */
function lastWords(lines: string[]): string {
  return lines.slice(-6).join("\n") || "(it wrote nothing)";
}

/**
 * A server left running by an earlier run (its worker was killed with kill -9, say) holds
 * postmaster.pid, and a new server would refuse to start beside it: stop it first. One whose
 * worker still runs is that worker's: refuse instead.
 */
async function stopOrphan(databaseDir: string, ownerFile: string, notice?: (message: string) => void) {
  const pidFile = await readFile(path.join(databaseDir, "postmaster.pid"), "utf8").catch(() => "");
  const pid = Number(pidFile.split("\n")[0]);
  if (!(pid > 0) || !isProcessRunning(pid) || !(await isPostgres(pid))) return;
  const owner = Number(JSON.parse(await readFile(ownerFile, "utf8").catch(() => "{}")).pid);
  if (owner > 0 && owner !== process.pid && isProcessRunning(owner)) {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL in ${databaseDir} belongs to another running worker (pid ${owner}): stop that one first, ` +
        "or give this one a DATA_DIR and EMBEDDED_PG_PORT of its own, or point both at one server with DATABASE_URL.",
    );
  }
  notice?.(`stopping the PostgreSQL (pid ${pid}) that an earlier run left running in ${databaseDir}`);
  process.kill(pid, "SIGINT");
  for (let waited = 0; isProcessRunning(pid); waited += 100) {
    if (waited === 20_000) process.kill(pid, "SIGQUIT");
    if (waited > 30_000) throw new EmbeddedPostgresError(`the PostgreSQL (pid ${pid}) left running in ${databaseDir} by an earlier run does not stop; stop it by hand.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function isPostgres(pid: number): Promise<boolean> {
  if (process.platform !== "linux") return true;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.includes("postgres");
}

async function initdb(bin: PostgresBinaries, databaseDir: string, user: OsUser | undefined) {
  const passwordFile = path.join(path.dirname(databaseDir), `.pg-password-${randomBytes(6).toString("hex")}`);
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (user) await chown(passwordFile, user.uid, user.gid);
  try {
    await run(bin.initdb, [
      `--pgdata=${databaseDir}`, "--auth=password", `--username=${USER}`, `--pwfile=${passwordFile}`, "--encoding=UTF8", "--locale=C",
    ], user);
  } catch (error) {
    throw new EmbeddedPostgresError(`initdb could not create the embedded PostgreSQL in ${databaseDir}:\n${(error as Error).message}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/**
 * As root, PostgreSQL runs as the postgres user, who must reach DATA_DIR/pg: when a folder above
 * it is private (a clone in root's home folder), say so in one line, with what to do.
 */
async function ensureReachableDataDir(databaseDir: string, user: OsUser) {
  await mkdir(databaseDir, { recursive: true });
  await chown(databaseDir, user.uid, user.gid);
  await chmod(databaseDir, 0o700);
  if (!(await userCan(user, "-w \"$1\" -a -x", databaseDir))) {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL runs as the postgres user, who cannot reach ${databaseDir} (a folder above it is private): ` +
        "set DATA_DIR to a folder the postgres user can reach (e.g. DATA_DIR=/var/lib/upload-scheduler), or set DATABASE_URL to a PostgreSQL server of yours.",
    );
  }
}
