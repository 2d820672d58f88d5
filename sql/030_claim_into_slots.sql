-- The claim itself, shared by find_next_video_to_upload and claim_due_videos.
-- Each slot's counter row is locked (waiting, never skipping) so that claims into one slot
-- on one date are serialised and read the latest count; videos are taken with SKIP LOCKED
-- so racing callers take different ones. The same statement raises the counters.
-- The caller has just read each slot's owner and max_uploads; they come in as arrays.
drop function if exists upload_scheduler_private.claim_into_slots(uuid[], date[], integer, timestamptz);

create or replace function upload_scheduler_private.claim_into_slots(
  p_slot_ids uuid[],
  p_local_dates date[],
  p_user_ids uuid[],
  p_max_uploads integer[],
  p_limit integer default null,
  p_now timestamptz default now()
)
returns setof public.videos
language plpgsql
volatile
set search_path = pg_catalog
-- Index lookups only (see the comment above): the cost follows the open slots and the claims,
-- never the size of videos or slot_day_counts, which grow every day.
set enable_hashjoin = off
set enable_mergejoin = off
-- Planned once per session: a custom plan for every call costs more than the claim itself.
set plan_cache_mode = force_generic_plan
as $$
begin
  if p_slot_ids is null or cardinality(p_slot_ids) = 0 then
    return;
  end if;

  -- The first claim of a slot on a date creates its counter row.
  -- (Looked up first: for a row that exists, a probe is cheaper than a speculative insert.)
  insert into upload_scheduler.slot_day_counts (slot_id, local_date)
  select o.slot_id, o.local_date
  from unnest(p_slot_ids, p_local_dates) as o (slot_id, local_date)
  where not exists (
    select 1 from upload_scheduler.slot_day_counts c where c.slot_id = o.slot_id and c.local_date = o.local_date)
  order by 1, 2
  on conflict do nothing;

  -- A new statement, so a new snapshot: counter rows inserted just now (by anyone) are seen.
  -- The claim raises the counters itself, in the same statement; the flag tells the
  -- statement trigger on videos not to count these moves a second time.
  perform set_config('upload_scheduler.claim_counts_itself', 'on', true);
  return query
  with slot_room as (
    select c.slot_id, c.local_date, o.user_id, greatest(o.max_uploads - c.used, 0) as room
    from unnest(p_slot_ids, p_local_dates, p_user_ids, p_max_uploads) as o (slot_id, local_date, user_id, max_uploads)
    join upload_scheduler.slot_day_counts c on c.slot_id = o.slot_id and c.local_date = o.local_date
    order by c.slot_id, c.local_date
    for update of c
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
  ),
  claimed as (
    update public.videos v
    set status = 'pending',
        slot_id = p.slot_id,
        slot_date = p.local_date,
        claimed_at = p_now,
        started_at = null,
        finished_at = null
    from picked p
    where v.id = p.id
    returning v.*
  ),
  counted as (
    update upload_scheduler.slot_day_counts c
    set used = c.used + n.claims
    from (select p.slot_id, p.local_date, count(*)::int as claims from picked p group by 1, 2) n
    where c.slot_id = n.slot_id and c.local_date = n.local_date
  )
  select * from claimed;
  perform set_config('upload_scheduler.claim_counts_itself', '', true);
end;
$$;

comment on function upload_scheduler_private.claim_into_slots(uuid[], date[], uuid[], integer[], integer, timestamptz) is
  E'Internal: claims, for each (slot, local date) given, the slot owner''s oldest initiate videos up to the room left, at most p_limit in all. Use find_next_video_to_upload or claim_due_videos instead.';
