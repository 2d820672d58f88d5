-- The result gained a note (pause, pacing); a changed result type needs a drop.
do $$
begin
  if pg_get_function_result(to_regprocedure('upload_scheduler.preview_tick(timestamptz)')) not like '%note text%' then
    drop function upload_scheduler.preview_tick(timestamptz);
  end if;
end;
$$;

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
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
  select o.user_id, o.slot_id, o.slot_name, o.time_zone, o.local_date, o.local_time, o.max_uploads, o.used,
         r.room, coalesce(w.ids, '{}'), r.note
  from upload_scheduler.open_slots(p_now) o
  join public.users u on u.id = o.user_id
  join public.upload_schedules s on s.id = o.slot_id
  left join upload_scheduler.slot_day_counts c on c.slot_id = o.slot_id and c.local_date = o.local_date
  -- The room the tick gives the slot: none while the user is paused or the slot's pacing
  -- waits, one at a time when it is paced.
  cross join lateral (
    select case
             when u.uploads_paused_until > p_now then 0
             when s.min_interval is null then greatest(o.max_uploads - o.used, 0)
             when c.last_claim_at is not null and p_now < c.last_claim_at + s.min_interval then 0
             else least(greatest(o.max_uploads - o.used, 0), 1)
           end as room,
           case
             when u.uploads_paused_until > p_now
               then format('paused until %s%s', u.uploads_paused_until, coalesce(': ' || u.pause_reason, ''))
             when s.min_interval is not null and c.last_claim_at is not null and p_now < c.last_claim_at + s.min_interval
               then format('paced: next claim from %s (min_interval %s)', c.last_claim_at + s.min_interval, s.min_interval)
             when s.min_interval is not null and o.used < o.max_uploads
               then format('paced: one claim per tick, %s apart', s.min_interval)
           end as note
  ) r
  cross join lateral (
    select array_agg(x.id order by x.created_at, x.id) as ids
    from (
      select v.id, v.created_at
      from public.videos v
      where v.user_id = o.user_id and v.status = 'initiate'
      order by v.created_at, v.id
      limit r.room
    ) x
  ) w
  order by o.user_id, o.slot_id
$$;

comment on function upload_scheduler.preview_tick(timestamptz) is
  E'What a tick at p_now would do, changing nothing: every open slot with its quota and use today, the room the tick gives it (none while its user is paused or its pacing waits; note says why), and the videos claim_due_videos would claim into it. E.g. select * from upload_scheduler.preview_tick(''2026-11-30 09:00+05:30'').';
