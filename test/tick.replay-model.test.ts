// The tick reads only the users its index says are due. Proof that it claims exactly what a tick
// that looks at everyone would: ticks minute by minute over days around daylight saving changes,
// with random schedules, arrivals, failures, schedule edits, exceptions and pauses, compared
// claim by claim with an independent model written here in TypeScript over luxon. With the
// platforms' limits on (rolling windows, and calendar days in a zone whose day is 23 or 25 hours
// long in the window), the model counts each user's claims by the instant they were made.
import t, { type Test } from "tap";
import { DateTime } from "luxon";
import { testDatabase, type TestDatabase } from "./fixtures/db.js";

// Six replays of up to 2,880 ticks each: minutes of work on a busy machine.
t.setTimeout(480_000);

const MINUTE = 60_000;
const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/** A small seeded PRNG (mulberry32), so that a failing run can be replayed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]! };
}

interface Slot { id: string; user: string; day: string; start: number; end: number; max: number; active: boolean; pace: number | null }
interface Video { id: string; user: string; created: number; status: string; slot: string | null; date: string | null; claimedAt: number | null }
/** A platform's limit: at most `max` claims in any rolling `perMs` (zone null), or per calendar day in `zone`. */
interface Limit { id: string; user: string; max: number; perMs: number; zone: string | null }

/** The model: what a tick at `at` claims, looking at every user, by the rules of the README. */
class Model {
  users = new Map<string, { zone: string; pausedUntil: number | null }>();
  slots = new Map<string, Slot>();
  exceptions = new Map<string, number>(); // user|date|slot-or-* -> quota
  videos = new Map<string, Video>();
  lastClaim = new Map<string, number>(); // slot|date -> instant
  limits = new Map<string, Limit>();
  /** Ticks at which a limit left a user's open slot less room than its quota. */
  heldByLimit = 0;

  /** The room the user's limits leave at `at` (Infinity without limits). */
  limitRoom(user: string, at: number): number {
    let room = Infinity;
    for (const l of this.limits.values()) {
      if (l.user !== user) continue;
      const since = l.zone === null ? at - l.perMs : DateTime.fromMillis(at, { zone: l.zone }).startOf("day").toMillis() - 1;
      const used = [...this.videos.values()].filter((v) => v.user === user && v.claimedAt !== null && v.claimedAt > since && v.claimedAt <= at
        && ["pending", "uploading", "success"].includes(v.status)).length;
      room = Math.min(room, Math.max(l.max - used, 0));
    }
    return room;
  }

  tick(at: number): Array<[string, string, string]> {
    const claims: Array<[string, string, string]> = [];
    for (const [user, u] of this.users) {
      if (u.pausedUntil !== null && u.pausedUntil > at) continue;
      const local = DateTime.fromMillis(at, { zone: u.zone });
      const day = DAYS[local.weekday - 1]!;
      const date = local.toISODate()!;
      const seconds = local.hour * 3600 + local.minute * 60 + local.second;
      const slot = [...this.slots.values()].find((s) => s.user === user && s.active && s.day === day && s.start <= seconds && seconds <= s.end);
      if (!slot) continue;
      const quota = this.exceptions.get(`${user}|${date}|${slot.id}`) ?? this.exceptions.get(`${user}|${date}|*`) ?? slot.max;
      const used = [...this.videos.values()].filter((v) => v.slot === slot.id && v.date === date && ["pending", "uploading", "success"].includes(v.status)).length;
      const limitRoom = this.limitRoom(user, at);
      if (limitRoom < quota - used) this.heldByLimit++;
      let room = Math.min(Math.max(quota - used, 0), limitRoom);
      if (slot.pace !== null) {
        const last = this.lastClaim.get(`${slot.id}|${date}`);
        room = last !== undefined && at < last + slot.pace ? 0 : Math.min(room, 1);
      }
      const waiting = [...this.videos.values()].filter((v) => v.user === user && v.status === "initiate")
        .sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
      for (const v of waiting.slice(0, room)) {
        v.status = "pending";
        v.slot = slot.id;
        v.date = date;
        v.claimedAt = at;
        this.lastClaim.set(`${slot.id}|${date}`, at);
        claims.push([v.id, slot.id, date]);
      }
    }
    return claims.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
}

async function replay(t: Test, db: TestDatabase, seed: number, from: string, hours: number, zones: string[], withLimits = false) {
  const rnd = random(seed);
  const model = new Model();
  const q = db.q;
  let created = Date.parse("2026-01-01T00:00:00Z");
  const time = (seconds: number) => `${String(Math.floor(seconds / 3600)).padStart(2, "0")}:${String(Math.floor(seconds / 60) % 60).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;

  // Random slots; half of them on Sundays between midnight and 04:00, where the clocks change.
  const addSlot = async (user: string) => {
    const night = rnd.next() < 0.5;
    const day = night ? "sunday" : rnd.pick(DAYS);
    const start = (night ? rnd.int(4 * 60) : rnd.int(24 * 60)) * 60 + rnd.pick([0, 0, 30]);
    const end = Math.min(start + 60 * (5 + rnd.int(night ? 90 : 180)) + rnd.pick([0, 59]), 24 * 3600 - 1);
    const clash = [...model.slots.values()].some((s) => s.user === user && s.day === day && s.active && s.start <= end && start <= s.end);
    if (clash || end <= start) return;
    const max = rnd.int(6);
    const pace = rnd.next() < 0.3 ? 60 * (10 + rnd.int(50)) : null;
    const [{ id }] = await q(
      `insert into upload_schedules (user_id, day, start_time, end_time, max_uploads, min_interval) values ($1, $2, $3, $4, $5, $6) returning id`,
      [user, day, time(start), time(end), max, pace === null ? null : `${pace} seconds`]);
    model.slots.set(id, { id, user, day, start, end, max, active: true, pace: pace === null ? null : pace * 1000 });
  };
  const addVideos = async (user: string, n: number) => {
    for (let i = 0; i < n; i++) {
      created += 1000;
      const [{ id }] = await q("insert into videos (user_id, created_at) values ($1, $2) returning id", [user, new Date(created)]);
      model.videos.set(id, { id, user, created, status: "initiate", slot: null, date: null, claimedAt: null });
    }
  };
  // A rolling limit of 1 to 4 in 20 minutes to 6 hours, or 1 to 6 a calendar day in the user's
  // zone, Los Angeles's or UTC.
  const addLimit = async (user: string) => {
    const rolling = rnd.next() < 0.5;
    const max = rolling ? 1 + rnd.int(4) : 1 + rnd.int(6);
    const perMinutes = rolling ? 20 + rnd.int(340) : 24 * 60;
    const zone = rolling ? null : rnd.pick([model.users.get(user)!.zone, "America/Los_Angeles", "UTC"]);
    const [{ id }] = await q("insert into upload_limits (user_id, max_uploads, per, time_zone) values ($1, $2, $3, $4) returning id",
      [user, max, `${perMinutes} minutes`, zone]);
    model.limits.set(id, { id, user, max, perMs: perMinutes * MINUTE, zone });
  };

  // The cast: users in zones whose clocks change in the window, each with a random week.
  const users: string[] = [];
  for (const zone of zones.flatMap((z) => [z, z, z, z])) {
    const [{ id }] = await q("insert into users (time_zone) values ($1) returning id", [zone]);
    model.users.set(id, { zone, pausedUntil: null });
    users.push(id);
    for (let i = 0; i < 20; i++) await addSlot(id);
    await addVideos(id, 5 + rnd.int(10));
    if (withLimits) {
      for (let i = rnd.int(3); i > 0; i--) await addLimit(id);
    }
  }

  const start = Date.parse(from);
  const finishing: Array<{ at: number; id: string; ok: boolean }> = [];
  let compared = 0;
  let claimedTotal = 0;
  for (let at = start; at < start + hours * 60 * MINUTE; at += MINUTE) {
    // What happens in the minute before the tick.
    for (const f of finishing.filter((f) => f.at === at)) {
      await q("select upload_scheduler.finish_upload($1, $2, 'flaky', $3)", [f.id, f.ok, new Date(at)]);
      model.videos.get(f.id)!.status = f.ok ? "success" : "failed";
    }
    const r = rnd.next();
    const user = rnd.pick(users);
    if (r < 0.2) {
      await addVideos(user, 1 + rnd.int(3));
    } else if (r < 0.21) {
      await addSlot(user);
    } else if (r < 0.22) {
      // A slot's quota or pacing changes (a slot switched off is left alone: the model keeps no
      // retired uses, so it only switches off slots never claimed into).
      const slot = rnd.pick([...model.slots.values()].filter((s) => s.user === user));
      if (slot) {
        const max = rnd.int(4);
        await q("update upload_schedules set max_uploads = $2 where id = $1", [slot.id, max]);
        slot.max = max;
        const never = ![...model.videos.values()].some((v) => v.slot === slot.id);
        if (never && rnd.next() < 0.5) {
          await q("update upload_schedules set is_active = false where id = $1", [slot.id]);
          slot.active = false;
        }
      }
    } else if (r < 0.23) {
      const date = DateTime.fromMillis(at, { zone: model.users.get(user)!.zone }).plus({ days: rnd.int(2) }).toISODate()!;
      // A slot's exception is for a date on its weekday (the database refuses any other).
      const weekday = DateTime.fromISO(date).setLocale("en").weekdayLong!.toLowerCase();
      const slot = rnd.next() < 0.5 ? rnd.pick([...model.slots.values()].filter((s) => s.user === user && s.day === weekday)) : undefined;
      const max = rnd.int(4);
      await q(`insert into upload_schedule_exceptions (user_id, local_date, slot_id, max_uploads) values ($1, $2, $3, $4)
               on conflict (user_id, local_date, slot_id) do update set max_uploads = excluded.max_uploads`, [user, date, slot?.id ?? null, max]);
      model.exceptions.set(`${user}|${date}|${slot?.id ?? "*"}`, max);
    } else if (r < 0.235) {
      const u = model.users.get(user)!;
      if (u.pausedUntil !== null && u.pausedUntil > at) {
        await q("select upload_scheduler.resume_uploads($1)", [user]);
        u.pausedUntil = null;
      } else {
        const until = at + (30 + rnd.int(600)) * MINUTE;
        await q("select upload_scheduler.pause_uploads($1, $2, null, $3)", [user, new Date(until), new Date(at)]);
        u.pausedUntil = until;
      }
    } else if (r < 0.25) {
      const failed = [...model.videos.values()].find((v) => v.user === user && v.status === "failed");
      if (failed) {
        await q("select upload_scheduler.retry_video($1)", [failed.id]);
        Object.assign(failed, { status: "initiate", slot: null, date: null, claimedAt: null });
      }
    }

    if (withLimits && rnd.next() < 0.02) {
      // A limit added, changed or lifted.
      const limit = rnd.pick([...model.limits.values()].filter((l) => l.user === user));
      const r2 = rnd.next();
      if (!limit || r2 < 0.4) {
        await addLimit(user);
      } else if (r2 < 0.7) {
        const max = rnd.int(5);
        await q("update upload_limits set max_uploads = $2 where id = $1", [limit.id, max]);
        limit.max = max;
      } else {
        await q("delete from upload_limits where id = $1", [limit.id]);
        model.limits.delete(limit.id);
      }
    }

    const rows = await q("select id, slot_id, slot_date::text from upload_scheduler.claim_due_videos($1)", [new Date(at)]);
    const got = rows.map((c) => [c.id, c.slot_id, c.slot_date] as [string, string, string]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const want = model.tick(at);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      // What the database says of the users concerned, to read beside the model.
      for (const id of new Set([...got, ...want].map(([v]) => model.videos.get(v)!.user))) {
        t.comment(JSON.stringify({ user: id, due: await q("select due_at from upload_scheduler.user_due where user_id = $1", [id]),
          preview: await q("select room, next_at, note from upload_scheduler_private.claimable(array[$1::uuid], $2)", [id, new Date(at)]),
          model: [...model.videos.values()].filter((v) => v.user === id && v.claimedAt).map((v) => [new Date(v.claimedAt!).toISOString(), v.status]),
          places: await q("select taken_at, released_at, local_date from upload_scheduler.places where user_id = $1 order by taken_at", [id]),
          mlimits: [...model.limits.values()].filter((l) => l.user === id),
          limits: withLimits ? await q("select * from upload_scheduler.limit_status($1, $2)", [id, new Date(at)]) : [] }));
      }
      t.same(got, want, `seed ${seed}: the claims of the tick at ${new Date(at).toISOString()}`);
      return;
    }
    compared++;
    claimedTotal += got.length;
    // Each claimed video starts at once and ends a minute later: four in five succeed.
    for (const [id] of got) {
      await q("select upload_scheduler.start_upload($1, $2)", [id, new Date(at)]);
      model.videos.get(id)!.status = "uploading";
      finishing.push({ at: at + MINUTE, id, ok: rnd.next() < 0.8 });
    }
  }
  t.pass(`seed ${seed}: ${compared} ticks from ${from}, ${claimedTotal} claims, each the model's`);
  t.ok(claimedTotal > (withLimits ? 30 : 100), "with real work to compare");
  if (withLimits) t.ok(model.heldByLimit > 20, `limits held users back at ${model.heldByLimit} of those ticks`);
}

const windows: Array<[string, string, number, string[]]> = [
  ["clocks go forward in New York (8 March 2026)", "2026-03-07T12:00:00Z", 48, ["America/New_York", "Asia/Kolkata", "UTC"]],
  ["clocks go forward in Sydney and, by half an hour, on Lord Howe (4 October 2026)", "2026-10-02T18:00:00Z", 48, ["Australia/Lord_Howe", "Australia/Sydney", "Asia/Kolkata"]],
  ["clocks go back in Berlin and London (25 October 2026)", "2026-10-24T12:00:00Z", 48, ["Europe/Berlin", "Europe/London", "America/New_York"]],
  ["clocks go back in New York (1 November 2026)", "2026-10-31T12:00:00Z", 48, ["America/New_York", "Asia/Kolkata", "Europe/Berlin"]],
];

for (const [name, from, hours, zones] of windows) {
  t.test(`due ticks claim exactly what the model claims: ${name}`, async (t) => {
    const db = await testDatabase(t);
    const seed = Number(process.env.REPLAY_SEED ?? 20261129) + windows.findIndex((w) => w[1] === from);
    await replay(t, db, seed, from, hours, zones);
  });
}

// The same replay with the platforms' limits on most users, over the days whose clocks change in
// New York and Los Angeles (a calendar day of 23 hours, then one of 25).
// (40 hours each: from the afternoon before the change to past Los Angeles's next midnight.)
const limitWindows: Array<[string, string, number, string[]]> = [
  ["clocks go forward in New York and Los Angeles (8 March 2026)", "2026-03-07T18:00:00Z", 40, ["America/New_York", "America/Los_Angeles", "Asia/Kolkata"]],
  ["clocks go back in New York and Los Angeles (1 November 2026)", "2026-10-31T18:00:00Z", 40, ["America/Los_Angeles", "America/New_York", "Europe/Berlin"]],
];
for (const [name, from, hours, zones] of limitWindows) {
  t.test(`with rolling and calendar limits, due ticks claim exactly what the model claims: ${name}`, async (t) => {
    const db = await testDatabase(t);
    const seed = Number(process.env.REPLAY_SEED ?? 20261129) + 10 + limitWindows.findIndex((w) => w[1] === from);
    await replay(t, db, seed, from, hours, zones, true);
    const [{ n }] = await db.q("select count(*)::int as n from upload_limits");
    t.ok(n >= 6, `${n} limits in play at the end`);
  });
}
