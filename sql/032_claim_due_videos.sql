create or replace function upload_scheduler.claim_due_videos(
  p_now timestamptz default now(),
  p_limit integer default null
)
returns setof public.videos
language plpgsql
volatile
set search_path = pg_catalog
as $$
declare
  v_slot_ids uuid[];
  v_local_dates date[];
  v_user_ids uuid[];
  v_max_uploads integer[];
begin
  if p_limit < 0 then
    raise exception 'p_limit % is negative.', p_limit
      using errcode = 'UPARG',
            hint = 'Pass a positive number of videos to claim at most, or NULL for no limit.';
  end if;

  -- Open slots with room (as far as this snapshot knows) whose owner has a video waiting,
  -- in slot order (the order claim_into_slots locks their counters in).
  select array_agg(o.slot_id), array_agg(o.local_date), array_agg(o.user_id), array_agg(o.max_uploads)
    into v_slot_ids, v_local_dates, v_user_ids, v_max_uploads
  from (
    select o.slot_id, o.local_date, o.user_id, o.max_uploads
    from upload_scheduler.open_slots(p_now) o
    where o.used < o.max_uploads
      and exists (select 1 from public.videos v where v.user_id = o.user_id and v.status = 'initiate')
    order by o.slot_id
  ) o;

  return query
    select * from upload_scheduler_private.claim_into_slots(v_slot_ids, v_local_dates, v_user_ids, v_max_uploads, p_limit, p_now);
end;
$$;

comment on function upload_scheduler.claim_due_videos(timestamptz, integer) is
  E'One scheduler tick''s claim, for all users in one statement: for every open slot with room, its owner''s oldest initiate videos, as many as the slot has room for today; at most p_limit in all. Returns the claimed (now pending) videos.';
