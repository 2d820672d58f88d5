-- The rule, written once: may this user's videos be claimed at p_now, where, and how many?
-- Every reader and writer of the schedule asks it: the claim (find_next_video_to_upload,
-- claim_due_videos), preview_tick, open_slots, find_active_slot, slot_status, the due
-- bookkeeping (next_at) and the forecast (upcoming_uploads, which adds the claims it plays as
-- p_extra). A new rule is one edit here.
--
-- For each user: the slot open at p_now in the user's zone (its weekday is today and
-- start_time <= local time <= end_time, at whole seconds; active slots of a user never overlap,
-- so there is at most one), its facts that day (day_facts: quota with date exceptions, use,
-- last claim), the pause, the pacing and the platforms' limits (limits_room), and from them:
--   room     how many videos a claim at p_now may take (0 when none);
--   next_at  a lower bound of the next instant room could be more than 0 if nothing else
--            changes (p_now when it is already; never after the zone's clock next goes back,
--            when local times repeat); the due bookkeeping and the forecast step by it;
--   note     why there is no room, or what limits it, in words.
create or replace function upload_scheduler_private.claimable(
  p_user_ids uuid[],
  p_now timestamptz,
  p_extra jsonb default null
)
returns table (
  user_id uuid,
  time_zone text,
  local_date date,
  local_time time,
  slot_id uuid,
  slot_name varchar,
  start_time time,
  end_time time,
  max_uploads integer,
  min_interval interval,
  quota integer,
  exception_note text,
  used integer,
  last_claim_at timestamptz,
  paused_until timestamptz,
  pause_reason text,
  room integer,
  next_at timestamptz,
  note text
)
language plpgsql
stable
-- An estimate, not a setting: each row leads to index probes, and a low estimate keeps the
-- planner on them (a hash join would read all of videos to claim a few; test/tick.linear-plans.test.ts).
rows 10
set search_path = pg_catalog, pg_temp
-- Plans kept for the session: a kept plan of a statement over unnest(p_user_ids) must assume a
-- list of unknown length, so beside a plan made for a single claim's list of one it always
-- looked dearer, and both statements here (and day_facts') were planned again at every call:
-- about half of a single claim's time. The plans are index probes whatever the list's length
-- (test/tick.linear-plans.test.ts reads the tick's); this function only reads, and what it calls
-- (day_facts, limits_room) are statements over these lists too, so the setting reaches no
-- trigger. test/claim.plans-kept.test.ts fails without it.
set plan_cache_mode = force_generic_plan
as $$
declare
  v_users uuid[];
  v_zones text[];
  v_dates date[];
  v_times time[];
  v_slots uuid[];
  v_names varchar[];
  v_starts time[];
  v_ends time[];
  v_maxes integer[];
  v_paces interval[];
  v_next_starts time[];
  v_paused timestamptz[];
  v_reasons text[];
  v_limited uuid[];
  v_backs timestamptz[];
begin
  -- Each zone's local clock once; then each user's open slot, or the next one today.
  select array_agg(u.id), array_agg(u.time_zone), array_agg(u.local_date), array_agg(u.local_time),
         array_agg(s.id), array_agg(s.slot_name), array_agg(s.start_time), array_agg(s.end_time),
         array_agg(s.max_uploads), array_agg(s.min_interval), array_agg(nx.start_time),
         array_agg(u.uploads_paused_until), array_agg(u.pause_reason), array_agg(u.back_at),
         -- The users that have a limit at all (one index probe each): only they are counted below.
         array_agg(u.id) filter (where exists (select 1 from public.upload_limits l where l.user_id = u.id))
    into v_users, v_zones, v_dates, v_times, v_slots, v_names, v_starts, v_ends, v_maxes, v_paces, v_next_starts,
         v_paused, v_reasons, v_backs, v_limited
  from (
    with users as materialized (
      -- A hold (a destination said to retry later) stops claims like a pause.
      select u.id, u.time_zone,
             case when u.held_until > p_now and u.held_until > coalesce(u.uploads_paused_until, '-infinity') then u.held_until
                  else u.uploads_paused_until end as uploads_paused_until,
             case when u.held_until > p_now and u.held_until > coalesce(u.uploads_paused_until, '-infinity')
                  then 'held: ' || coalesce(u.hold_reason, 'the destination said to retry later')
                  else u.pause_reason end as pause_reason
      -- One index probe per user given, in a plan kept for lists of any length (LATERAL, and
      -- OFFSET 0 keeps the probe a probe: a plain join to unnest(p_user_ids) was kept as a
      -- hash join over all of users, and = any as a filter of every user).
      from unnest(p_user_ids) as x (id)
      cross join lateral (select * from public.users u where u.id = x.id offset 0) u
    ),
    -- (a handful of rows, one per time zone, whatever the number of users)
    zones as materialized (
      select z.time_zone,
             (p_now at time zone z.time_zone)::date as local_date,
             upload_scheduler_private.weekday_name(p_now at time zone z.time_zone) as day,
             date_trunc('second', p_now at time zone z.time_zone)::time as local_time,
             upload_scheduler_private.clock_goes_back(z.time_zone, p_now) as back_at
      from (select distinct u.time_zone from users u) z
    )
    select u.*, z.local_date, z.day, z.local_time, z.back_at
    from users u
    join zones z on z.time_zone = u.time_zone
  ) u
  left join lateral (
    select s.id, s.slot_name, s.start_time, s.end_time, s.max_uploads, s.min_interval
    from public.upload_schedules s
    where s.user_id = u.id and s.day = u.day and s.is_active and s.start_time <= u.local_time
    order by s.start_time desc
    limit 1
  ) s on s.end_time >= u.local_time
  left join lateral (
    select s.start_time
    from public.upload_schedules s
    where s.user_id = u.id and s.day = u.day and s.is_active and s.start_time > u.local_time
    order by s.start_time
    limit 1
  ) nx on true;

  if v_users is null then
    return;
  end if;

  -- Each user's row beside its facts, zipped by position (ROWS FROM: no join, linear at any size).
  return query
  select o.user_id, o.time_zone, o.local_date, o.local_time, o.slot_id, o.slot_name, o.start_time, o.end_time,
         o.max_uploads, o.min_interval, f.quota, f.exception_note, f.used, f.last_claim_at,
         case when o.paused_until > p_now then o.paused_until end,
         case when o.paused_until > p_now then o.pause_reason end,
         r.room, t.next_at, r.note
  from rows from (
         unnest(v_users), unnest(v_zones), unnest(v_dates), unnest(v_times), unnest(v_slots), unnest(v_names),
         unnest(v_starts), unnest(v_ends), unnest(v_maxes), unnest(v_paces), unnest(v_next_starts), unnest(v_paused),
         unnest(v_reasons), unnest(v_backs),
         upload_scheduler_private.day_facts(v_users, v_dates, v_slots, v_starts, v_ends, v_maxes, p_extra))
       as o (user_id, time_zone, local_date, local_time, slot_id, slot_name, start_time, end_time, max_uploads,
             min_interval, next_start, paused_until, pause_reason, back_at,
             f_n, f_user_id, f_slot_id, f_quota, f_exception_max, f_exception_note, f_used, f_last_claim_at)
  cross join lateral (
    select o.f_quota as quota, o.f_exception_note as exception_note, o.f_used as used, o.f_last_claim_at as last_claim_at
  ) f
  -- The platforms' limits (public.upload_limits), for a user with an open slot: no row, none.
  -- (All limited users' limits counted in one call, joined by user.)
  left join upload_scheduler_private.limits_room(coalesce(v_limited, '{}'), p_now, p_extra) lim
    on lim.user_id = o.user_id and o.slot_id is not null
  cross join lateral (
    select
      case
        when o.slot_id is null then 0
        when o.paused_until > p_now then 0
        when f.used >= f.quota then 0
        when o.min_interval is not null and p_now < f.last_claim_at + o.min_interval then 0
        when lim.room = 0 then 0
        when o.min_interval is not null then 1
        else least(f.quota - f.used, coalesce(lim.room, f.quota - f.used))
      end as room,
      case
        when o.slot_id is null then null
        when o.paused_until > p_now
          then format('paused until %s%s', o.paused_until, coalesce(': ' || o.pause_reason, ''))
        when lim.room = 0 and f.used < f.quota then lim.note
        when o.min_interval is not null and p_now < f.last_claim_at + o.min_interval
          then format('paced: next claim from %s (min_interval %s)', f.last_claim_at + o.min_interval, o.min_interval)
        when o.min_interval is not null and f.used < f.quota
          then format('paced: one claim per tick, %s apart', o.min_interval)
      end as note
  ) r
  cross join lateral (
    -- Never later than the instant the zone's clock goes back, if it does in the next two days:
    -- from then local times repeat, and a slot already closed today opens again (least() skips
    -- a NULL).
    select least(
      case
        when r.room > 0 then p_now
        when o.paused_until > p_now then o.paused_until
        -- Open, its quota has room, a limit is full: when the limit frees a claim (or later).
        -- (No claim in the window yet: nothing paces it; a NULL here once sent the user to the
        -- slot's end. tick.replay-model's limits found it.)
        when lim.room = 0 and f.used < f.quota
             and (o.min_interval is null or f.last_claim_at is null or p_now >= f.last_claim_at + o.min_interval)
          then least(lim.next_at, upload_scheduler_private.earliest_instant(o.time_zone, o.local_date + o.end_time + interval '1 second'))
        -- Open, without room: the pacing's next instant while the quota has room, else the slot's
        -- end (no other slot of the user opens before it).
        when o.slot_id is not null then
          least(case when f.used < f.quota then f.last_claim_at + o.min_interval end,
                upload_scheduler_private.earliest_instant(o.time_zone, o.local_date + o.end_time + interval '1 second'))
        when o.next_start is not null
          then upload_scheduler_private.earliest_instant(o.time_zone, o.local_date + o.next_start)
        else upload_scheduler_private.earliest_instant(o.time_zone, (o.local_date + 1)::timestamp)
      end, o.back_at) as next_at
  ) t;
end;
$$;

comment on function upload_scheduler_private.claimable(uuid[], timestamptz, jsonb) is
  E'The scheduling rule, written once: for each user, the slot open at p_now (local time, whole seconds, inclusive ends), its quota, use and last claim that day, the pause, and from them room (videos a claim at p_now may take), next_at (a lower bound of the next instant room could be positive) and a note. p_extra adds simulated places (the forecast).';
