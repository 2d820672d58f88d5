-- A slot's use and room at an instant: the rule's answers (upload_scheduler_private.claimable and
-- day_facts), one slot or user at a time.

create or replace function upload_scheduler.upload_count_for_slot(
  p_slot_id uuid,
  p_now timestamptz default now()
)
returns integer
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_used integer;
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  perform upload_scheduler_private.slot_owner(p_slot_id);
  select f.used into v_used
  from public.upload_schedules s
  join public.users u on u.id = s.user_id
  cross join lateral upload_scheduler_private.day_facts(
    array[s.user_id], array[(p_now at time zone u.time_zone)::date], array[s.id], array[s.start_time], array[s.end_time],
    array[s.max_uploads]) f
  -- A slot counts only on its own weekday.
  where s.id = p_slot_id and s.day = upload_scheduler_private.weekday_name(p_now at time zone u.time_zone);
  return coalesce(v_used, 0);
end;
$$;

comment on function upload_scheduler.upload_count_for_slot(uuid, timestamptz) is
  E'Uploads counted against the slot on p_now''s local date in the owner''s time zone: the places taken that day (pending, uploading or uploaded videos; failed ones gave theirs back) in a window that overlaps the slot''s, whatever slot they were taken in (a deleted, moved or re-created slot never gets a fresh quota).';

create or replace function upload_scheduler.find_active_slot(
  p_user_id uuid,
  p_now timestamptz default now()
)
returns setof public.upload_schedules
language plpgsql
stable
security definer
rows 1
set search_path = pg_catalog, pg_temp
as $$
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  perform upload_scheduler_private.user_time_zone(p_user_id);
  return query
  select s.*
  from upload_scheduler_private.claimable(array[p_user_id], p_now) c
  join public.upload_schedules s on s.id = c.slot_id
  where c.used < c.quota;
end;
$$;

comment on function upload_scheduler.find_active_slot(uuid, timestamptz) is
  E'The user''s active slot that holds p_now (local time, whole seconds, inclusive ends) and still has room today (date exceptions applied); no row when there is none. Ignores pause and pacing, which decide when a claim happens, not whether the slot has room.';

-- The users a session may read: one for an application role, all otherwise.
create or replace function upload_scheduler_private.users_in_scope(p_user_id uuid default null)
returns uuid[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_scope uuid := upload_scheduler_private.acting_user_id();
begin
  if p_user_id is not null then
    perform upload_scheduler_private.user_time_zone(p_user_id);
    return array[p_user_id];
  end if;
  if v_scope is not null then
    return array[v_scope];
  end if;
  return array(select u.id from public.users u);
end;
$$;

comment on function upload_scheduler_private.users_in_scope(uuid) is
  E'Internal: [p_user_id] (checked: UPNUS when unknown or of another tenant), or every user the session may act for.';

create or replace function upload_scheduler.open_slots(p_now timestamptz default now())
returns table (
  slot_id uuid,
  user_id uuid,
  slot_name varchar,
  time_zone text,
  local_date date,
  local_time time,
  max_uploads integer,
  used integer
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform upload_scheduler_private.check_instant(p_now, 'p_now');
  return query
  select c.slot_id, c.user_id, c.slot_name, c.time_zone, c.local_date, c.local_time, c.quota, c.used
  from upload_scheduler_private.claimable(upload_scheduler_private.users_in_scope(), p_now) c
  where c.slot_id is not null;
end;
$$;

comment on function upload_scheduler.open_slots(timestamptz) is
  E'Every active slot of every user (of the session''s user, for an application role) that holds p_now in its owner''s time zone, with the local date and time, its quota that day (max_uploads, or a date exception''s) and how many uploads are already counted against it.';
