/**
 * The two servers the upload benchmark sends the same file to, in a process of their own (as a
 * destination is another machine: its work does not run on the uploading thread, for either
 * upload):
 *
 * - a tus server: @tus/server with its FileStore, as it comes (no counting layer of the tests);
 * - a plain one: node:http writing each PUT's body to a file.
 *
 * Each deletes what it received once it has answered, so a run of 1 GB uploads does not fill the
 * disk. Prints one JSON line, `{ "tus": endpoint, "put": url }`, once both listen; the parent
 * kills it when done, and the folder goes with it.
 */
import { once } from "node:events";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { EVENTS, Server } from "@tus/server";
import { FileStore } from "@tus/file-store";

const directory = mkdtempSync(path.join(tmpdir(), "upload-bench-servers-"));
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    rmSync(directory, { recursive: true, force: true });
    process.exit(0);
  });
}

let puts = 0;
const put = http.createServer((req, res) => {
  const file = path.join(directory, `put-${++puts}`);
  void pipeline(req, createWriteStream(file)).then(
    () => res.writeHead(201).end(() => rmSync(file, { force: true })),
    () => res.writeHead(500).end(),
  );
});

const store = new FileStore({ directory });
const tus = new Server({ path: "/files", datastore: store });
tus.on(EVENTS.POST_FINISH, (_req, _res, upload) => {
  rmSync(path.join(directory, upload.id), { force: true });
  rmSync(path.join(directory, `${upload.id}.json`), { force: true });
});
const tusHttp = http.createServer((req, res) => void tus.handle(req, res));

for (const server of [put, tusHttp]) {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
}
const port = (server: http.Server) => (server.address() as AddressInfo).port;
console.log(JSON.stringify({ tus: `http://127.0.0.1:${port(tusHttp)}/files/`, put: `http://127.0.0.1:${port(put)}/` }));
