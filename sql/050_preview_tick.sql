-- slot_name was varchar(50) until the integrity migration; a changed result type needs a drop.
do $$
begin
  if pg_get_function_result(to_regprocedure('upload_scheduler.preview_tick(timestamptz)')) like '%varying(50)%' then
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
  would_claim uuid[]
)
language sql
stable
security definer
set search_path = pg_catalog
as $$
  select o.user_id, o.slot_id, o.slot_name, o.time_zone, o.local_date, o.local_time, o.max_uploads, o.used,
         greatest(o.max_uploads - o.used, 0),
         coalesce(w.ids, '{}')
  from upload_scheduler.open_slots(p_now) o
  cross join lateral (
    select array_agg(x.id order by x.created_at, x.id) as ids
    from (
      select v.id, v.created_at
      from public.videos v
      where v.user_id = o.user_id and v.status = 'initiate'
      order by v.created_at, v.id
      limit greatest(o.max_uploads - o.used, 0)
    ) x
  ) w
  order by o.user_id, o.slot_id
$$;

comment on function upload_scheduler.preview_tick(timestamptz) is
  E'What a tick at p_now would do, changing nothing: every open slot with its use today, its room, and the videos claim_due_videos would claim into it. E.g. select * from upload_scheduler.preview_tick(''2026-11-30 09:00+05:30'').';
