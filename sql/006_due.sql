-- Each user's next due instant (upload_scheduler.user_due): what lets a tick read only the users
-- that may have something to claim. The rule: no claim for the user is possible before due_at.
--   - Anything that could make a claim possible sooner marks the user: a change to the user's
--     slots, date exceptions, pause or time zone sets due_at to '-infinity' (mark_due, which
--     also takes the row's lock); a video arriving or going back to the queue, or a place given
--     back, leaves a row in due_marks (insert only: a writer of videos never waits for a tick).
--   - The tick looks at the users whose due_at has come, claims what it can, and sets each one's
--     due_at again from what it sees then (refresh_due).
-- The row's lock is also the user's serialisation point: claims lock it, every change to the
-- user's schedule locks it (by marking it), so a claim sees a schedule before or after a change.
-- A tick skips the users whose row another session holds (their schedule is changing; they are
-- marked, and the next tick takes them): one tenant's open transaction never stalls the others.
-- Every user has a row (from its insert on): a claim and a schedule change always meet on it.

-- Locks the users' due rows, in id order (every path takes them in one ordered pass).
create or replace function upload_scheduler_private.lock_due(p_user_ids uuid[])
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
set jit = off
as $$
  select count(*) from (
    select 1 from upload_scheduler.user_due d
    where d.user_id = any(p_user_ids)
    order by d.user_id
    for no key update
  ) x
$$;

comment on function upload_scheduler_private.lock_due(uuid[]) is
  E'Internal: locks the due rows of these users in id order (waiting): the user''s claims and schedule changes take turns on it.';

-- Takes the due rows of these users that no other session holds (in id order) and returns
-- their users; a row being changed by another session is left for the next tick or sweep. Only
-- locked here. A tick's claim then has refresh_due write each of them once, after the claim, so
-- a schedule change at REPEATABLE READ that began before the tick fails to serialise on it; a
-- sweep writes none of them (it does not set due_at: what it gives back leaves marks for the
-- next tick).
create or replace function upload_scheduler_private.take_due(p_user_ids uuid[])
returns uuid[]
language sql
volatile
set search_path = pg_catalog, pg_temp
set jit = off
as $$
  select coalesce(array_agg(x.user_id order by x.user_id), '{}')
  from (
    select d.user_id from upload_scheduler.user_due d
    where d.user_id = any(p_user_ids)
    order by d.user_id
    for no key update skip locked
  ) x
$$;

comment on function upload_scheduler_private.take_due(uuid[]) is
  E'Internal: a tick or a sweep takes (locks) the due rows of these users that no other session holds, in id order, and returns their users; after a tick''s claim, refresh_due writes them.';

-- (The sweeps' copy of take_due, by another name.)
drop function if exists upload_scheduler_private.lock_due_skip(uuid[]);

-- A change to these users' schedules: lock their rows and mark them due. Always a write, so a
-- writer at REPEATABLE READ whose snapshot predates a claim of the user fails to serialise
-- (40001) rather than act on a schedule the claim has moved past.
create or replace function upload_scheduler_private.mark_due(p_user_ids uuid[])
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
set jit = off
as $$
begin
  perform upload_scheduler_private.lock_due(p_user_ids);
  update upload_scheduler.user_due d set due_at = '-infinity' where d.user_id = any(p_user_ids);
end;
$$;

comment on function upload_scheduler_private.mark_due(uuid[]) is
  E'Internal: the schedule of these users changed: the next tick looks at them (due_at = -infinity). Takes their due rows'' locks.';

-- The users a tick at p_now must look at, besides the marked ones.
create or replace function upload_scheduler_private.due_users(p_now timestamptz)
returns uuid[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_latest timestamptz;
begin
  select c.latest into v_latest from upload_scheduler.tick_clock c;
  if p_now >= v_latest then
    return array(select d.user_id from upload_scheduler.user_due d where d.due_at <= p_now);
  end if;
  -- Before the latest tick (a replay, a "what if"): due_at was computed from later instants and
  -- says nothing about this one, so walk every user, as ticks did before.
  return array(
    select distinct o.user_id
    from upload_scheduler.open_slots(p_now) o
    where o.used < o.max_uploads
      and exists (select 1 from public.videos v where v.user_id = o.user_id and v.status = 'initiate'));
end;
$$;

comment on function upload_scheduler_private.due_users(timestamptz) is
  E'Internal: the users a tick at p_now looks at (besides marked ones): those whose due_at has come (an index range), or, for a tick before the latest one, every user with an open slot with room and a waiting video.';

-- Sets each user's due_at from what the database shows now (after the tick's claims): a lower
-- bound of the next claim, found with a few index probes per user, never a walk of the week:
--   no video waits: infinity (an arrival marks the user);
--   paused: the pause's end;
--   a slot is open: now, if it still has room (a limit or a locked video held the tick back);
--     else its pacing's next instant, or the moment it closes (no other slot opens before);
--   none is open: the next slot's start today, else the next local midnight.
-- Local times become instants with the smaller of the day's two UTC offsets' answers, so on a
-- day the clocks change the bound is never late. Call it on rows take_due has taken: it writes
-- every one of them.
create or replace function upload_scheduler_private.refresh_due(p_user_ids uuid[], p_now timestamptz)
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
set jit = off
-- Index lookups only: the cost follows the users looked at, never the size of the tables.
set enable_hashjoin = off
set enable_mergejoin = off
-- A bulk statement over lists of thousands: planned for each call with the lists' values, so a
-- test like user_id = any(list) is a hash lookup (a plan kept for the session would compare
-- each row with the whole list, quadratic). Planning costs nothing next to the work.
set plan_cache_mode = force_custom_plan
as $$
declare
  v_waiting uuid[];
  v_idle uuid[];
begin
  -- Most users a tick looks at have nothing left waiting once it has claimed: one probe each,
  -- and their due_at becomes infinity (often the value it had: an update PostgreSQL makes HOT).
  select array_agg(x.user_id) filter (where x.waiting), array_agg(x.user_id) filter (where not x.waiting)
    into v_waiting, v_idle
  from (
    select x.user_id, exists (select 1 from public.videos v where v.user_id = x.user_id and v.status = 'initiate') as waiting
    from unnest(p_user_ids) as x (user_id)
  ) x;

  -- Every row taken is written, once.
  if v_idle is not null then
    update upload_scheduler.user_due d set due_at = 'infinity' where d.user_id = any(v_idle);
  end if;
  if v_waiting is null then
    update upload_scheduler.tick_clock c set latest = p_now where c.latest < p_now;
    return;
  end if;
  update upload_scheduler.user_due d
  set due_at = n.due_at
  from (
    with zones as materialized (
      select z.time_zone, l.local_date, l.day, l.local_time,
             upload_scheduler_private.utc_offset(z.time_zone, l.local_date::timestamp at time zone z.time_zone) as o1,
             upload_scheduler_private.utc_offset(z.time_zone, (l.local_date + 1)::timestamp at time zone z.time_zone - interval '1 second') as o2
      from (select distinct u.time_zone from public.users u where u.id = any(v_waiting)) z
      cross join lateral (
        select (p_now at time zone z.time_zone)::date as local_date,
               upload_scheduler_private.weekday_name(p_now at time zone z.time_zone) as day,
               date_trunc('second', p_now at time zone z.time_zone)::time as local_time
      ) l
    )
    select u.id,
           case
             when u.uploads_paused_until > p_now then u.uploads_paused_until
             when cur.id is not null then
               case
                 when cur.used < cur.quota
                      and (cur.min_interval is null or cur.last_claim_at is null or cur.last_claim_at + cur.min_interval <= p_now) then p_now
                 when cur.used < cur.quota then least(cur.last_claim_at + cur.min_interval, cur.closes_at)
                 else cur.closes_at
               end
             when nxt.start_time is not null
               then least((z.local_date + nxt.start_time) - z.o1, (z.local_date + nxt.start_time) - z.o2) at time zone 'UTC'
             else (z.local_date + 1)::timestamp at time zone z.time_zone
           end as due_at
    from public.users u
    join zones z on z.time_zone = u.time_zone
    left join lateral (
      select s.id, s.min_interval, coalesce(c.used, 0) as used, c.last_claim_at,
             coalesce(e.max_uploads, s.max_uploads) as quota,
             least((z.local_date + s.end_time + interval '1 second') - z.o1,
                   (z.local_date + s.end_time + interval '1 second') - z.o2) at time zone 'UTC' as closes_at
      from (
        select s.id, s.min_interval, s.max_uploads, s.end_time
        from public.upload_schedules s
        where s.user_id = u.id and s.day = z.day and s.is_active and s.start_time <= z.local_time
        order by s.start_time desc
        limit 1
      ) s
      left join upload_scheduler.slot_day_counts c on c.slot_id = s.id and c.local_date = z.local_date
      left join lateral (
        select x.max_uploads from public.upload_schedule_exceptions x
        where x.user_id = u.id and x.local_date = z.local_date and (x.slot_id = s.id or x.slot_id is null)
        order by x.slot_id nulls last
        limit 1
      ) e on true
      where s.end_time >= z.local_time
    ) cur on true
    left join lateral (
      select s.start_time
      from public.upload_schedules s
      where s.user_id = u.id and s.day = z.day and s.is_active and s.start_time > z.local_time
      order by s.start_time
      limit 1
    ) nxt on true
    where u.id = any(v_waiting)
  ) n
  where d.user_id = n.id;

  update upload_scheduler.tick_clock c set latest = p_now where c.latest < p_now;
end;
$$;

comment on function upload_scheduler_private.refresh_due(uuid[], timestamptz) is
  E'Internal: writes these users'' due_at (taken by take_due) from what the database shows at p_now (a lower bound of their next claim: infinity when no video waits, the pause''s end, now while an open slot has room, its pacing''s next instant or its end, the next slot''s start today, or the next local midnight), and moves tick_clock forward.';
