-- The claim itself, shared by find_next_video_to_upload and claim_due_videos.
--
-- 1. The users' due rows are locked (by the caller, or here for a single user's claim): every
--    change to a user's schedule takes that row's lock, so the claim sees each schedule whole,
--    before or after a change.
-- 2. Their slots open at p_now are read afresh (a new snapshot, after the lock).
-- 3. Each (slot, local date) counter is locked in that order, waiting, never skipping (the
--    day's first claim creates it): claims into one slot on one date are serialised.
-- 4. One statement takes each owner's oldest initiate videos, up to the room the counter
--    leaves, with SKIP LOCKED, and moves them to pending. The statement trigger on videos
--    counts them and checks the quota, as it does for every writer.
drop function if exists upload_scheduler_private.claim_into_slots(uuid[], date[], uuid[], integer[], integer, timestamptz);

drop function if exists upload_scheduler_private.claim_for_users(uuid[], integer, timestamptz);

create or replace function upload_scheduler_private.claim_for_users(
  p_user_ids uuid[],
  p_limit integer,
  p_now timestamptz,
  p_lock boolean
)
returns setof public.videos
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
set jit = off
-- Index lookups only: the cost follows the open slots and the claims, never the size of
-- videos or slot_day_counts, which grow every day.
set enable_hashjoin = off
set enable_mergejoin = off
-- Planned once per session: a custom plan for every call costs more than the claim itself.
set plan_cache_mode = force_generic_plan
as $$
declare
  v_slot_ids uuid[];
  v_dates date[];
  v_users uuid[];
  v_quotas integer[];
  v_paces interval[];
begin
  if p_user_ids is null or cardinality(p_user_ids) = 0 then
    return;
  end if;

  if p_lock then
    -- A single user's claim waits for the row, and writes it: a schedule change at REPEATABLE
    -- READ that began before this claim then fails to serialise instead of missing it.
    update upload_scheduler.user_due d set due_at = d.due_at where d.user_id = any(p_user_ids);
  end if;
  -- Tells the trigger on videos that these moves are a claim's, made under the users' due rows.
  insert into upload_scheduler.claiming (txid) values (pg_current_xact_id()) on conflict do nothing;

  -- One aggregate node: the five arrays hold the rows in the same order (no sort: the counters
  -- are locked in their own order below).
  select array_agg(o.slot_id), array_agg(o.local_date), array_agg(o.user_id), array_agg(o.quota), array_agg(o.min_interval)
    into v_slot_ids, v_dates, v_users, v_quotas, v_paces
  from (
    with candidates as materialized (
      select u.id, u.time_zone from public.users u
      where u.id = any(p_user_ids)
        -- A paused user is not claimed for until the pause ends.
        and (u.uploads_paused_until is null or u.uploads_paused_until <= p_now)
    ),
    zones as materialized (
      select z.time_zone,
             (p_now at time zone z.time_zone)::date as local_date,
             upload_scheduler_private.weekday_name(p_now at time zone z.time_zone) as day,
             date_trunc('second', p_now at time zone z.time_zone)::time as local_time
      from (select distinct c.time_zone from candidates c) z
    )
    select s.id as slot_id, z.local_date, u.id as user_id, coalesce(e.max_uploads, s.max_uploads) as quota, s.min_interval
    from candidates u
    join zones z on z.time_zone = u.time_zone
    -- Active slots of one user do not overlap: the one that started last before now is the only candidate.
    cross join lateral (
      select s.id, s.max_uploads, s.end_time, s.min_interval
      from public.upload_schedules s
      where s.user_id = u.id and s.day = z.day and s.is_active and s.start_time <= z.local_time
      order by s.start_time desc
      limit 1
    ) s
    -- The quota that day: a date exception of the slot, else of the whole day, else the slot's.
    left join lateral (
      select e.max_uploads from public.upload_schedule_exceptions e
      where e.user_id = u.id and e.local_date = z.local_date and (e.slot_id = s.id or e.slot_id is null)
      order by e.slot_id nulls last
      limit 1
    ) e on true
    where s.end_time >= z.local_time
      and coalesce(e.max_uploads, s.max_uploads) > 0
  ) o;

  if v_slot_ids is null then
    delete from upload_scheduler.claiming c where c.txid = pg_current_xact_id();
    return;
  end if;

  -- ON CONFLICT DO UPDATE … WHERE false locks an existing counter without writing it. Every
  -- claim locks its counters in (slot, date) order, so two claims never wait for each other in a circle.
  insert into upload_scheduler.slot_day_counts as c (slot_id, local_date)
  select o.slot_id, o.local_date
  from unnest(v_slot_ids, v_dates) as o (slot_id, local_date)
  order by o.slot_id, o.local_date
  on conflict (slot_id, local_date) do update set used = c.used where false;

  -- A new statement, so a new snapshot: the counters as the last claim into them left them.
  -- A paced slot takes one video per tick, and only min_interval after its last claim.
  return query
  with slot_room as (
    select o.slot_id, o.local_date, o.user_id,
           case
             when o.min_interval is null then greatest(o.quota - c.used, 0)
             when c.last_claim_at is not null and p_now < c.last_claim_at + o.min_interval then 0
             else least(greatest(o.quota - c.used, 0), 1)
           end as room
    from unnest(v_slot_ids, v_dates, v_users, v_quotas, v_paces) as o (slot_id, local_date, user_id, quota, min_interval)
    join upload_scheduler.slot_day_counts c on c.slot_id = o.slot_id and c.local_date = o.local_date
  ),
  picked as (
    select r.slot_id, r.local_date, w.id
    from slot_room r
    cross join lateral (
      select v.id
      from public.videos v
      where v.user_id = r.user_id and v.status = 'initiate'
      order by v.created_at, v.id
      limit r.room
      for update skip locked
    ) w
    limit p_limit
  )
  update public.videos v
  set status = 'pending',
      slot_id = p.slot_id,
      slot_date = p.local_date,
      claimed_at = p_now,
      started_at = null,
      finished_at = null
  from picked p
  where v.id = p.id
  returning v.*;
  delete from upload_scheduler.claiming c where c.txid = pg_current_xact_id();
end;
$$;

comment on function upload_scheduler_private.claim_for_users(uuid[], integer, timestamptz, boolean) is
  E'Internal: for each user given (not paused; their due rows locked by the caller, or here when p_lock), claims the oldest initiate videos into the slot open at p_now, up to the room it has that day (date exceptions applied; one per tick and min_interval apart when paced), at most p_limit in all. Use find_next_video_to_upload or claim_due_videos instead.';
