import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded.js";

export interface ResolvedDatabase {
  url: string;
  /** The embedded server, when DATABASE_URL is unset. */
  embedded: EmbeddedDatabase | null;
  stop(): Promise<void>;
}

/**
 * DATABASE_URL when it is set; otherwise the embedded PostgreSQL under `<dataDir>/pg`,
 * started now and stopped by `stop()`.
 */
export async function resolveDatabase(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
  embeddedPort: number;
  log?: (line: string) => void;
  notice?: (message: string) => void;
}): Promise<ResolvedDatabase> {
  if (options.databaseUrl) {
    return { url: options.databaseUrl, embedded: null, stop: async () => {} };
  }
  const embedded = await startEmbeddedPostgres({
    dataDir: path.resolve(options.dataDir),
    port: options.embeddedPort,
    ...(options.log ? { log: options.log } : {}),
    ...(options.notice ? { notice: options.notice } : {}),
  });
  return { url: embedded.url, embedded, stop: embedded.stop };
}
