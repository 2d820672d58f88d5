// The logs: one JSON object per line with a stable `event` (or one readable line in a terminal),
// LOG_LEVEL and LOG_FORMAT, the runner's own logger when the scheduler is embedded (Graphile
// Worker's or pino's), and a README that lists every event.
import t from "tap";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { Logger as GraphileLogger } from "graphile-worker";
import { readConfig, ConfigError } from "../src/config.js";
import { PROJECT_ROOT } from "../src/db/migrate.js";
import { LOG_EVENTS, createLogger, jsonLogger, pluginLogger, toLogger, type Logger } from "../src/log.js";

/** A logger writing into an array, as createLogger's destination. */
function captured(options: Parameters<typeof createLogger>[0] = {}) {
  const lines: string[] = [];
  const logger = createLogger({ format: "json", ...options, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, json: () => lines.map((l) => JSON.parse(l)) };
}

t.test("JSON lines: the event first, a sentence when there is one, the fields; no field overwrites the event", async (t) => {
  const { logger, json } = captured({ base: { service: "upload-scheduler" } });
  logger.info("claimed", { video_id: "v1", attempt: 1 });
  logger.warn("database_unreachable", "database unreachable", { attempt: 2, event: "something else" });
  logger.child({ video_id: "v2" }).error("upload_failed", "upload failed", { outcome: "timed_out" });
  const [claimed, unreachable, failed] = json();
  t.match(claimed, { level: "info", time: /^\d{4}-\d\d-\d\dT/, service: "upload-scheduler", event: "claimed", video_id: "v1", attempt: 1 });
  t.notOk("msg" in claimed, "no sentence given, none written");
  t.match(unreachable, { level: "warn", event: "database_unreachable", msg: "database unreachable", attempt: 2 });
  t.match(failed, { level: "error", event: "upload_failed", video_id: "v2", outcome: "timed_out" }, "a child's fields on its lines");
  t.equal(Object.keys(claimed).indexOf("event"), Object.keys(claimed).indexOf("service") + 1, "event right after the logger's own fields");

  // Compiled by `npm run typecheck`: the event cannot be forgotten, nor misspelt.
  const check = (l: Logger) => {
    // @ts-expect-error a sentence is not an event
    l.info("worker started");
    // @ts-expect-error fields without an event
    l.info({ video_id: "v" });
    l.info("worker_started", "worker started", { upload_concurrency: 4 });
  };
  t.ok(check);
});

t.test("LOG_LEVEL and LOG_FORMAT", async (t) => {
  const quiet = captured({ level: "warn" });
  quiet.logger.info("tick", { claimed: 1 });
  quiet.logger.debug("graphile_worker", "Worker connected");
  quiet.logger.warn("outcome_kept", "outcome not written yet");
  t.same(quiet.json().map((l) => l.event), ["outcome_kept"], "warn and above only");
  const verbose = captured({ level: "debug" });
  verbose.logger.debug("graphile_worker", "Worker connected");
  t.match(verbose.json(), [{ level: "debug", event: "graphile_worker", msg: "Worker connected" }]);

  const pretty = captured({ format: "pretty" });
  pretty.logger.info("claimed", "claimed", { video_id: "v1" });
  pretty.logger.info("tick", { claimed: 0 });
  t.equal(pretty.lines.length, 2, "one line each");
  t.match(pretty.lines[0], /^\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*: claimed: claimed .*video_id.*v1/, "time, level, event and sentence, then the fields");
  t.match(pretty.lines[1], /INFO.*: tick .*claimed.*0/, "the event alone when there is no sentence");
  t.notMatch(pretty.lines[0], /^\{/, "not JSON");

  t.match(readConfig({ LOG_LEVEL: "DEBUG", LOG_FORMAT: "pretty" }), { logLevel: "debug", logFormat: "pretty" });
  t.match(readConfig({}), { logLevel: "info", logFormat: undefined }, "by default: info; pretty in a terminal, JSON otherwise");
  try {
    readConfig({ LOG_LEVEL: "loud", LOG_FORMAT: "xml" });
    t.fail("should throw");
  } catch (error) {
    t.type(error, ConfigError);
    t.same((error as ConfigError).problems, [
      'LOG_LEVEL="loud" is not one of trace, debug, info, warn, error, fatal, silent; unset it for the default info.',
      'LOG_FORMAT="xml" is not one of json, pretty; unset it for pretty lines in a terminal and JSON otherwise.',
    ]);
  }
});

t.test("the runner's own logger: Graphile Worker's, pino's, or the scheduler's", async (t) => {
  const seen: Array<{ level: string; message: string; meta: any }> = [];
  const graphile = new GraphileLogger((scope) => (level, message, meta) => void seen.push({ level, message, meta: { ...scope, ...meta } }));
  const fromGraphile = toLogger(graphile);
  fromGraphile.child({ video_id: "v1" }).warn("outcome_kept", "outcome not written yet", { attempt: 1 });
  fromGraphile.info("tick", { claimed: 2 });
  t.match(seen, [
    { level: "warning", message: "outcome not written yet", meta: { event: "outcome_kept", video_id: "v1", attempt: 1 } },
    { level: "info", message: "tick", meta: { event: "tick", claimed: 2 } },
  ], "Graphile Worker's logger: the sentence (or the event), the event and the fields in its meta");

  const lines: string[] = [];
  const app = pino({ base: { app: "mine" } }, { write: (line: string) => void lines.push(line) });
  toLogger(app).child({ video_id: "v2" }).info("uploaded", "uploaded", { duration_ms: 5 });
  t.match(JSON.parse(lines[0]!), { app: "mine", level: 30, event: "uploaded", msg: "uploaded", video_id: "v2", duration_ms: 5 }, "a pino logger: its own fields and format, the event added");

  const own = jsonLogger();
  t.equal(toLogger(own), own, "the scheduler's own is used as it is");
});

t.test("a plug-in's (msg, fields) lines become media_process lines", async (t) => {
  const { logger, json } = captured();
  const plugin = pluginLogger(logger.child({ video_id: "v" }));
  plugin.child({ step: "put" }).warn("retrying", { n: 2 });
  t.match(json(), [{ level: "warn", event: "media_process", msg: "retrying", video_id: "v", step: "put", n: 2 }]);
});

t.test("the docs' Logs section (docs/operating.md) lists every event, and only those", async (t) => {
  const readme = readFileSync(path.join(PROJECT_ROOT, "docs/operating.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n### Logs"), readme.indexOf("\n## ", readme.indexOf("\n### Logs")));
  const listed = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
  t.same(listed.sort(), Object.keys(LOG_EVENTS).sort());
});
