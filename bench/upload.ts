/**
 * The upload benchmark's figures (for `npm run bench`'s table and --json):
 *
 * - upload_tus_over_put: throughput of a tus upload through the built-in tus destination (8 MiB
 *   chunks, to @tus/server with its FileStore) over a plain HTTP PUT of the same 1 GB file
 *   (--quick: 100 MB) to a node:http server that writes it to disk, both on loopback. The two
 *   servers run in a process of their own (bench/upload-servers.ts), as a destination is another
 *   machine; the two clients run here and read the file alike (1 MiB reads, as the destination
 *   does). One warm-up round, then the median of 7 rounds (5 of 1 GB), each starting with another
 *   of the measures. 0.8 or more is the target.
 * - upload_chunked_put_over_put, upload_tus_over_chunked_put: the same file sent as plain PUTs of
 *   8 MiB, one after another, over the one PUT; and tus over those. The first is what 8 MiB
 *   requests cost by themselves on this machine (the floor of the first figure for any client
 *   of a chunked protocol), the second what the tus client adds to them.
 * - upload_protocol_tus_over_put: the same file to the same tus server by the protocol alone
 *   (POST, then 8 MiB PATCHes, no tus client library) over the one PUT: the ceiling of the first
 *   figure against this server, whatever the client.
 * - upload_rss_mb_small, upload_rss_mb_large: the peak RSS (MB) of a process running the tus
 *   destination (test/fixtures/destination-runner.ts) uploading the small and the large file
 *   (100 MB and 1 GB; --quick: 20 MB and 100 MB). Flat memory means the two are close.
 *
 * The files are random bytes in a temporary folder, removed afterwards.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_CHUNK_SIZE, READ_BUFFER, mediaProccess } from "../src/media/destinations/tus.js";
import { completeContext, type MediaVideo } from "../src/media/plugin.js";
import { randomFile, runInChild } from "../test/fixtures/destinations.js";
import { startTusServer } from "../test/fixtures/tus-server.js";
import { median, round } from "./stats.js";

const MB = 1_000_000;

/** The tus server and the plain PUT server, in a child process (bench/upload-servers.ts). */
async function servers() {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./upload-servers.ts", import.meta.url))], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(child, "exit").then(() => {
    throw new Error("the upload benchmark's servers exited before they listened");
  });
  const [line] = (await Promise.race([once(child.stdout!.setEncoding("utf8"), "data"), exited])) as [string];
  const urls = JSON.parse(line.split("\n")[0]!) as { tus: string; put: string };
  exited.catch(() => {});
  return { ...urls, close: async () => void (child.exitCode === null && (child.kill("SIGTERM"), await once(child, "exit"))) };
}

/**
 * One request to `url`, its body bytes [start, end) of `file` read as the tus destination reads
 * them (none when `range` is not given); resolves to the response once it has been read.
 */
function send(url: string, method: string, headers: Record<string, string | number>, file: string, range?: [number, number]) {
  return new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = http.request(url, { method, headers: range ? { ...headers, "Content-Length": range[1] - range[0] } : headers });
    request.on("response", (response) => {
      response.resume();
      response.on("end", () => resolve(response));
    });
    request.on("error", reject);
    if (range) createReadStream(file, { start: range[0], end: range[1] - 1, highWaterMark: READ_BUFFER }).pipe(request);
    else request.end();
  });
}

/** A streamed PUT of `file`, bytes [start, end) of it; resolves once the server answered 201. */
async function putRange(url: string, file: string, start: number, end: number): Promise<void> {
  const response = await send(url, "PUT", { "Content-Type": "application/octet-stream" }, file, [start, end]);
  if (response.statusCode !== 201) throw new Error(`the PUT server answered ${response.statusCode}`);
}

/** The whole file in one PUT; resolves to its duration in ms. */
async function put(url: string, file: string): Promise<number> {
  const started = performance.now();
  await putRange(url, file, 0, statSync(file).size);
  return performance.now() - started;
}

/**
 * The same file as PUTs of DEFAULT_CHUNK_SIZE bytes, one after another (no protocol: each is
 * written to a file of its own): what sending the file in 8 MiB requests costs by itself, the
 * floor of any client that does so.
 */
async function chunkedPut(url: string, file: string): Promise<number> {
  const started = performance.now();
  const size = statSync(file).size;
  for (let start = 0; start < size; start += DEFAULT_CHUNK_SIZE) await putRange(url, file, start, Math.min(size, start + DEFAULT_CHUNK_SIZE));
  return performance.now() - started;
}

/**
 * The same file to the tus server by the protocol alone, no tus client library: a POST that
 * creates the upload, then PATCHes of DEFAULT_CHUNK_SIZE bytes one after another, each checked for
 * 204 and the new offset. No resuming or retrying: the most any tus client sending 8 MiB PATCHes
 * can get from this server here, the ceiling of the tus destination's figure.
 */
async function protocolOnlyTus(endpoint: string, file: string): Promise<number> {
  const started = performance.now();
  const size = statSync(file).size;
  const tus = { "Tus-Resumable": "1.0.0" };
  const created = await send(endpoint, "POST", { ...tus, "Upload-Length": size }, file);
  if (created.statusCode !== 201 || !created.headers.location) throw new Error(`the tus server answered ${created.statusCode} to POST`);
  const upload = new URL(created.headers.location, endpoint).toString();
  for (let start = 0; start < size; start += DEFAULT_CHUNK_SIZE) {
    const end = Math.min(size, start + DEFAULT_CHUNK_SIZE);
    const patched = await send(upload, "PATCH", { ...tus, "Upload-Offset": start, "Content-Type": "application/offset+octet-stream" }, file, [start, end]);
    if (patched.statusCode !== 204 || Number(patched.headers["upload-offset"]) !== end) {
      throw new Error(`the tus server answered ${patched.statusCode} (offset ${patched.headers["upload-offset"]}) to a PATCH at ${start}`);
    }
  }
  return performance.now() - started;
}

export async function uploadBench(options: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number>> {
  const { quick, log } = options;
  const dir = mkdtempSync(path.join(tmpdir(), "upload-bench-"));
  const rssServer = await startTusServer();
  const remote = await servers();
  try {
    const sizes = { small: (quick ? 20 : 100) * MB, large: (quick ? 100 : 1000) * MB };
    const files = { small: path.join(dir, "small.bin"), large: path.join(dir, "large.bin") };
    await randomFile(files.small, sizes.small);
    await randomFile(files.large, sizes.large);
    // The large file (1 GB; --quick: 100 MB), as the issue measures it.
    const compared = files.large;

    // Throughput: alternate the two so that a busy moment of the machine hits both alike.
    // One warm-up run of each (not counted), then alternating runs.
    const runs = quick ? 7 : 5;
    const tusMs: number[] = [];
    const putMs: number[] = [];
    const chunkedMs: number[] = [];
    const protocolMs: number[] = [];
    const logger = { info() {}, warn() {}, error() {}, child: () => logger };
    const tus = async (run: number) => {
      const started = performance.now();
      const video = { id: `bench-${run}`, title: "bench", sourcePath: compared, source_path: compared } as unknown as MediaVideo;
      await mediaProccess(video, completeContext({ signal: new AbortController().signal, attempt: 1, idempotencyKey: `bench-${run}`, logger, env: { TUS_ENDPOINT: remote.tus } }));
      return performance.now() - started;
    };
    const measures: Array<[number[], (run: number) => Promise<number>]> = [
      [putMs, () => put(remote.put, compared)],
      [chunkedMs, () => chunkedPut(remote.put, compared)],
      [tusMs, tus],
      [protocolMs, () => protocolOnlyTus(remote.tus, compared)],
    ];
    for (let run = -1; run < runs; run++) {
      // Each run starts with another of the measures, so none always comes after the others' writes.
      for (let i = 0; i < measures.length; i++) {
        const [into, measure] = measures[(i + run + 1) % measures.length]!;
        const took = await measure(run);
        if (run >= 0) into.push(took);
      }
    }
    const mbps = (ms: number) => round(sizes.large / MB / (ms / 1000), 2);
    log(
      `upload: ${sizes.large / MB} MB over loopback: PUT ${mbps(median(putMs))} MB/s, as 8 MiB PUTs ${mbps(median(chunkedMs))} MB/s, ` +
        `tus ${mbps(median(tusMs))} MB/s, tus by the protocol alone ${mbps(median(protocolMs))} MB/s (median of ${runs})`,
    );

    // Peak memory of a process that does nothing but upload, as an upload's worker would.
    const peak = async (which: "small" | "large") => {
      const child = runInChild({
        destination: "tus",
        video: { id: `bench-rss-${which}`, title: null, source_path: files[which] },
        env: { TUS_ENDPOINT: rssServer.endpoint },
        stateFile: path.join(dir, `${which}.json`),
      });
      try {
        const outcome = await child.waitFor("result");
        const rss = (await child.waitFor("rss")).maxRssBytes / MB;
        log(`upload: ${sizes[which] / MB} MB through the tus destination in a process of its own: ${Math.round(outcome.ms)} ms, peak RSS ${Math.round(rss)} MB`);
        return rss;
      } finally {
        await child.kill();
      }
    };
    return {
      upload_tus_over_put: round(median(putMs) / median(tusMs), 2),
      upload_chunked_put_over_put: round(median(putMs) / median(chunkedMs), 2),
      upload_tus_over_chunked_put: round(median(chunkedMs) / median(tusMs), 2),
      upload_protocol_tus_over_put: round(median(putMs) / median(protocolMs), 2),
      upload_rss_mb_small: Math.round(await peak("small")),
      upload_rss_mb_large: Math.round(await peak("large")),
    };
  } finally {
    await remote.close();
    await rssServer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
