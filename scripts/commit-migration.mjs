#!/usr/bin/env node
/**
 * Commits migrations/current.sql as the next numbered migration, exactly as
 * `graphile-migrate commit` names, hashes and writes it (its own parse, hash and serialise
 * functions), without the shadow-database replay of `commit`: that replay runs today's sql/
 * on the schema *before* the new migration, which fails whenever sql/ already uses what the
 * migration adds. The template database of `npm test` applies the committed migration and
 * sql/ in order, so every commit is still tried on a fresh database by the tests.
 *
 *   node scripts/commit-migration.mjs
 */
import { readFileSync, readdirSync, writeFileSync, chmodSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { parseMigrationText, serializeMigration } = require("graphile-migrate/dist/migration.js");
const { calculateHash } = require("graphile-migrate/dist/hash.js");
const { sluggify } = require("graphile-migrate/dist/sluggify.js");

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const committedDir = path.join(root, "migrations", "committed");
const currentPath = path.join(root, "migrations", "current.sql");

const committed = readdirSync(committedDir).filter((f) => /^\d{6}.*\.sql$/.test(f)).sort();
const last = committed.at(-1);
const lastHash = last ? parseMigrationText(path.join(committedDir, last), readFileSync(path.join(committedDir, last), "utf8"), true).headers.Hash : null;
const { headers, body } = parseMigrationText(currentPath, readFileSync(currentPath, "utf8"), false);
if (!body.trim() || /^--\s*Enter migration here\s*$/.test(body.trim())) throw new Error("migrations/current.sql is blank");

const number = String((last ? parseInt(last, 10) : 0) + 1).padStart(6, "0");
const message = headers.Message;
const filename = `${number}${message ? `-${sluggify(message)}` : ""}.sql`;
const hash = calculateHash(body, lastHash);
const { Previous: _p, Hash: _h, Message: _m, ...rest } = headers;
const text = serializeMigration(body, { Previous: lastHash ?? "-", Hash: hash, Message: message, ...rest });
const target = path.join(committedDir, filename);
writeFileSync(target, text);
chmodSync(target, 0o440);
writeFileSync(currentPath, "-- Enter migration here\n");
console.log(`committed ${path.relative(root, target)} (${hash})`);
