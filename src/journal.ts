import { open, readdir, readFile, rm, mkdir, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { isProcessRunning } from "./processes.js";
import type { LeasedOutcome } from "./types.js";

/** An upload's outcome, known to the runner, to be written to the database. */
export interface OutcomeRecord {
  videoId: string;
  attempt: number;
  outcome: LeasedOutcome;
  error: string | null;
  /** The attempt's token (begin_attempt): only it can end the attempt. Absent in journals of versions before leases. */
  token?: string;
  /** What the destination answered (mediaProccess's value), for a success. */
  result?: unknown;
  /** For retry_later and unknown: when to try again (ISO). */
  retryAt?: string | null;
  /** When the runner learnt it (ISO). */
  at: string;
  worker: string;
}

type Line = ({ op: "outcome" } & OutcomeRecord) | { op: "settled"; videoId: string; attempt: number };

const FILE = /^outcomes\.(.+)\.(\d+)\.jsonl$/;
/** A journal with nothing left to write is emptied once it has grown past this many lines. */
const COMPACT_AFTER_LINES = 1000;

const key = (r: { videoId: string; attempt: number }) => `${r.videoId}/${r.attempt}`;

/**
 * A small append-only file per worker process under DATA_DIR/journal: an outcome the database
 * could not take at once is written (and synced) here, and marked settled once the database has
 * it. A process that dies leaves its unsettled outcomes behind; the next process on the same
 * host adopts them at start and writes them to the database.
 */
export class OutcomeJournal {
  private readonly unsettled = new Map<string, OutcomeRecord>();
  private lines = 0;
  private size = 0;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    private readonly compactAfterLines: number,
  ) {}

  /**
   * Opens this process's journal in `dir`, adopting the unsettled outcomes of every journal left
   * by a process of this host that is no longer running; returns them to be written again.
   */
  static async open(
    dir: string,
    owner: { hostname: string; pid: number },
    options: { compactAfterLines?: number } = {},
  ): Promise<{ journal: OutcomeJournal; adopted: OutcomeRecord[] }> {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `outcomes.${owner.hostname}.${owner.pid}.jsonl`);
    const orphans: string[] = [];
    for (const name of (await readdir(dir)).sort()) {
      const match = FILE.exec(name);
      if (!match || match[1] !== owner.hostname) continue;
      const pid = Number(match[2]);
      // A file with our own pid is from an earlier process that had it (pids are reused).
      if (pid === owner.pid || !isProcessRunning(pid)) orphans.push(path.join(dir, name));
    }
    const adopted = new Map<string, OutcomeRecord>();
    for (const orphan of orphans) {
      for (const record of unsettledIn(await readFile(orphan, "utf8").catch(() => ""))) adopted.set(key(record), record);
    }
    // Ours first, synced, then theirs removed: a crash in between leaves an outcome in two files, written twice, harmlessly.
    const journal = new OutcomeJournal(file, await open(file, "w"), options.compactAfterLines ?? COMPACT_AFTER_LINES);
    for (const record of adopted.values()) await journal.writeLine({ op: "outcome", ...record }, false);
    await journal.handle.datasync();
    for (const orphan of orphans) if (orphan !== file) await rm(orphan, { force: true });
    return { journal, adopted: [...adopted.values()] };
  }

  /** Outcomes journaled and not yet settled. */
  get pending(): OutcomeRecord[] {
    return [...this.unsettled.values()];
  }

  /** Journals an outcome, synced to disk before this resolves. */
  append(record: OutcomeRecord): Promise<void> {
    return this.serially(async () => {
      await this.writeLine({ op: "outcome", ...record }, true);
    });
  }

  /** The database has the outcome (or refused it for good): nothing to replay for it. */
  settle(record: { videoId: string; attempt: number }): Promise<void> {
    return this.serially(async () => {
      if (!this.unsettled.has(key(record))) return;
      await this.writeLine({ op: "settled", videoId: record.videoId, attempt: record.attempt }, false);
      if (this.unsettled.size === 0 && this.lines >= this.compactAfterLines) {
        await this.handle.truncate(0);
        this.lines = 0;
        this.size = 0;
      }
    });
  }

  /** Closes the file; removes it when nothing is left to write. Returns what is left. */
  close(): Promise<OutcomeRecord[]> {
    return this.serially(async () => {
      if (this.closed) return this.pending;
      this.closed = true;
      await this.handle.close();
      if (this.unsettled.size === 0) await rm(this.file, { force: true });
      return this.pending;
    });
  }

  private async writeLine(line: Line, sync: boolean) {
    // Positional writes, not O_APPEND: the file is truncated in place, and this process is its only writer.
    const bytes = Buffer.from(JSON.stringify(line) + "\n");
    await this.handle.write(bytes, 0, bytes.length, this.size);
    this.size += bytes.length;
    if (sync) await this.handle.datasync();
    this.lines++;
    if (line.op === "outcome") {
      const { op: _op, ...record } = line;
      this.unsettled.set(key(record), record);
    } else {
      this.unsettled.delete(key(line));
    }
  }

  private serially<T>(op: () => Promise<T>): Promise<T> {
    const result = this.queue.then(op);
    this.queue = result.catch(() => {});
    return result;
  }
}

/** The outcomes of a journal's text that no settled line follows; torn or foreign lines are skipped. */
export function unsettledIn(text: string): OutcomeRecord[] {
  const records = new Map<string, OutcomeRecord>();
  for (const raw of text.split("\n")) {
    let line: Line;
    try {
      line = JSON.parse(raw);
    } catch {
      continue;
    }
    if (line?.op === "outcome" && typeof line.videoId === "string" && Number.isInteger(line.attempt)) {
      const { op: _op, ...record } = line;
      records.set(key(record), record);
    } else if (line?.op === "settled") {
      records.delete(key(line));
    }
  }
  return [...records.values()];
}
