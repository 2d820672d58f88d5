import path from "node:path";
import { startEmbeddedPostgres } from "./embedded.js";

export interface ResolvedDatabase {
  url: string;
  embedded: boolean;
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
}): Promise<ResolvedDatabase> {
  if (options.databaseUrl) {
    return { url: options.databaseUrl, embedded: false, stop: async () => {} };
  }
  const embedded = await startEmbeddedPostgres({
    dataDir: path.resolve(options.dataDir),
    port: options.embeddedPort,
    ...(options.log ? { log: options.log } : {}),
  });
  return { url: embedded.url, embedded: true, stop: embedded.stop };
}
