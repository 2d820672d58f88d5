// The tick reads only the users its index says are due. Proof that it claims exactly what a tick
// that looks at everyone would: ticks minute by minute over days around daylight saving changes,
// with random schedules, arrivals, failures, schedule edits, exceptions and pauses, compared
// claim by claim with an independent model written here in TypeScript over luxon.
import t, { type Test } from "tap";
import { DateTime } from "luxon";
import { testDatabase, type TestDatabase } from "./fixtures/db.js";

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
interface Video { id: string; user: string; created: number; status: string; slot: string | null; date: string | null }

/** The model: what a tick at `at` claims, looking at every user, by the rules of the README. */
class Model {
  users = new Map<string, { zone: string; pausedUntil: number | null }>();
  slots = new Map<string, Slot>();
  exceptions = new Map<string, number>(); // user|date|slot-or-* -> quota
  videos = new Map<string, Video>();
  lastClaim = new Map<string, number>(); // slot|date -> instant

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
      let room = Math.max(quota - used, 0);
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
        this.lastClaim.set(`${slot.id}|${date}`, at);
        claims.push([v.id, slot.id, date]);
      }
    }
    return claims.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
}

async function replay(t: Test, db: TestDatabase, seed: number, from: string, hours: number, zones: string[]) {
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
      model.videos.set(id, { id, user, created, status: "initiate", slot: null, date: null });
    }
  };

  // The cast: users in zones whose clocks change in the window, each with a random week.
  const users: string[] = [];
  for (const zone of zones.flatMap((z) => [z, z, z, z])) {
    const [{ id }] = await q("insert into users (time_zone) values ($1) returning id", [zone]);
    model.users.set(id, { zone, pausedUntil: null });
    users.push(id);
    for (let i = 0; i < 20; i++) await addSlot(id);
    await addVideos(id, 5 + rnd.int(10));
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
        Object.assign(failed, { status: "initiate", slot: null, date: null });
      }
    }

    const rows = await q("select id, slot_id, slot_date::text from upload_scheduler.claim_due_videos($1)", [new Date(at)]);
    const got = rows.map((c) => [c.id, c.slot_id, c.slot_date] as [string, string, string]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const want = model.tick(at);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
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
  t.ok(claimedTotal > 100, "with real work to compare");
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
