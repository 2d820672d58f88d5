/**
 * `npm run db:migrate`: the committed migrations not yet applied and the files of sql/ that
 * changed, applied to DATABASE_URL under the start-up lock (src/db/apply.ts); nothing else.
 * Graphile Worker's schema is the worker's to install, at its first start.
 */
import { migrateDatabase } from "../db/migrate.js";
import { errorText } from "../db/pool.js";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("db:migrate: DATABASE_URL is unset: set it to the connection of the database's owner, e.g. DATABASE_URL=postgres://owner@host/db npm run db:migrate");
  process.exit(1);
}
try {
  const { migrations, sqlFiles, privileges, tries } = await migrateDatabase(url);
  if (migrations.length === 0 && sqlFiles.length === 0) {
    console.log(`db:migrate: ${privileges ? `granted ${privileges} privilege(s) or policies missing; otherwise ` : ""}already up to date (no committed migration pending, no file of sql/ changed)`);
  } else {
    console.log(
      `db:migrate: applied ${migrations.length} committed migration(s)${migrations.length ? ` (${migrations.length > 2 ? `${migrations[0]} … ${migrations.at(-1)}` : migrations.join(", ")})` : ""} ` +
        `and ${sqlFiles.length} file(s) of sql/${sqlFiles.length ? ` (from ${sqlFiles[0]})` : ""}${tries > 1 ? `, after ${tries} tries (tables were busy)` : ""}`,
    );
  }
} catch (error) {
  console.error(`db:migrate failed: ${errorText(error)}`);
  process.exit(1);
}
