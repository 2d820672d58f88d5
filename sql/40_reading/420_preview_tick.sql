-- What a tick at p_now would do, changing nothing: the rule's answer for every user with an open
-- slot, and the videos the claim would take.
create or replace function upload_scheduler.preview_tick(p_now timestamptz default now())
returns table (
  user_id uuid,
  slot_id uuid,
  slot_name varchar,
  time_zone text,
  local_date date,
  local_time time,
  max_uploads integer,
  used integer,
  room integer,
  would_claim uuid[],
  note text
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  return query
  select c.user_id, c.slot_id, c.slot_name, c.time_zone, c.local_date, c.local_time, c.quota, c.used, c.room,
         coalesce(w.ids, '{}'), c.note
  from upload_scheduler_private.claimable(upload_scheduler_private.users_in_scope(), p_now) c
  cross join lateral (
    select array_agg(x.id order by x.n) as ids
    from (
      select v.id, row_number() over (order by v.queue_priority desc, v.created_at, v.id) as n
      from public.videos v
      where v.user_id = c.user_id and v.status = 'initiate' and (v.not_before is null or v.not_before <= p_now)
      order by v.queue_priority desc, v.created_at, v.id
      limit c.room
    ) x
  ) w
  where c.slot_id is not null
  order by c.user_id, c.slot_id;
end;
$$;

comment on function upload_scheduler.preview_tick(timestamptz) is
  E'What a tick at p_now would do, changing nothing: every open slot with its quota and use today, the room the tick gives it (none while its user is paused or its pacing waits; note says why), and the videos claim_due_videos would claim into it. E.g. select * from upload_scheduler.preview_tick(''2026-11-30 09:00+05:30'').';
