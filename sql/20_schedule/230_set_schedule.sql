-- The week as JSON, in the design note's format: an array of
--   {"day": "monday", "start_time": "09:00:00", "end_time": "11:59:59", "max_uploads": 1,
--    "slot_name": "morning", "is_active": true, "min_interval": "45 minutes", "user_id": "…"}
-- (max_uploads, slot_name, is_active, min_interval and user_id optional).
--
-- This file reads JSON; the rules of a slot are the table's (its constraints and trigger), and
-- set_schedule reports their errors with the position of the element that broke them.

-- Reads one element of the array into a row: keys and JSON types only; every problem names its
-- position and key.
create or replace function upload_scheduler_private.schedule_slot_from_json(
  p_user_id uuid,
  p_position integer,
  p_slot jsonb
)
returns public.upload_schedules
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_slot public.upload_schedules;
  v_label text;
  v_key text;
begin
  if jsonb_typeof(p_slot) is distinct from 'object' then
    raise exception 'slot %: % is not an object.', p_position, coalesce(left(p_slot::text, 60), 'NULL')
      using errcode = 'UPJSN',
            hint = 'Each slot is an object such as {"day": "monday", "start_time": "09:00:00", "end_time": "11:59:59", "max_uploads": 1}.';
  end if;
  v_label := format('slot %s (%s %s-%s)', p_position, coalesce(p_slot->>'day', '?'), coalesce(p_slot->>'start_time', '?'), coalesce(p_slot->>'end_time', '?'));

  for v_key in select jsonb_object_keys(p_slot) loop
    if v_key not in ('day', 'start_time', 'end_time', 'max_uploads', 'slot_name', 'is_active', 'min_interval', 'user_id') then
      raise exception '%: unknown key %.', v_label, to_json(v_key)
        using errcode = 'UPJSN',
              hint = 'The keys are day, start_time, end_time, max_uploads, slot_name, is_active, min_interval and user_id.';
    end if;
    if v_key <> 'slot_name' and v_key <> 'min_interval' and jsonb_typeof(p_slot->v_key) = 'null' then
      raise exception '%: % is null.', v_label, v_key
        using errcode = 'UPJSN',
              hint = format('Give a value for %s, or leave the key out for its default.', v_key);
    end if;
  end loop;

  if p_slot ? 'user_id' and (p_slot->>'user_id') is distinct from p_user_id::text then
    raise exception '%: user_id % is not the user whose week this is (%).', v_label, p_slot->'user_id', p_user_id
      using errcode = 'UPJSN',
            hint = 'Leave user_id out, or give the same user as p_user_id.';
  end if;

  foreach v_key in array array['day', 'start_time', 'end_time'] loop
    if jsonb_typeof(p_slot->v_key) is distinct from 'string' then
      raise exception '%: % is %.', v_label, v_key, coalesce('not a string but ' || (p_slot->v_key)::text, 'missing')
        using errcode = 'UPJSN',
              hint = 'day, start_time and end_time are required strings, e.g. "monday", "09:00:00", "11:59:59".';
    end if;
  end loop;

  v_slot.user_id := p_user_id;
  begin
    v_slot.day := upload_scheduler_private.normalize_weekday(p_slot->>'day');
  exception when sqlstate 'UPDAY' then
    raise exception '%: day % is not a weekday.', v_label, p_slot->'day'
      using errcode = 'UPDAY',
            hint = 'Use an English weekday name: monday, tuesday, wednesday, thursday, friday, saturday or sunday (any case).';
  end;
  foreach v_key in array array['start_time', 'end_time'] loop
    begin
      perform (p_slot->>v_key)::time;
    exception when invalid_datetime_format or datetime_field_overflow then
      raise exception '%: % % is not a time of day.', v_label, v_key, p_slot->v_key
        using errcode = 'UPTIM',
              hint = 'Write times as "HH:MM:SS", e.g. "09:00:00".';
    end;
  end loop;
  v_slot.start_time := (p_slot->>'start_time')::time;
  v_slot.end_time := (p_slot->>'end_time')::time;

  v_slot.max_uploads := 1;
  if p_slot ? 'max_uploads' then
    if jsonb_typeof(p_slot->'max_uploads') <> 'number' or (p_slot->>'max_uploads') !~ '^-?[0-9]+$'
       or length(p_slot->>'max_uploads') > 10 or abs((p_slot->>'max_uploads')::bigint) > 2147483647 then
      raise exception '%: max_uploads % is not a whole number.', v_label, p_slot->'max_uploads'
        using errcode = 'UPQTA',
              hint = 'Give the uploads allowed per day as a number, e.g. 2 (0 pauses the slot).';
    end if;
    v_slot.max_uploads := (p_slot->>'max_uploads')::integer;
  end if;

  if jsonb_typeof(p_slot->'slot_name') not in ('string', 'null') then
    raise exception '%: slot_name % is not a string.', v_label, p_slot->'slot_name'
      using errcode = 'UPNAM',
            hint = 'Give a name such as "morning", or null.';
  end if;
  v_slot.slot_name := p_slot->>'slot_name';

  v_slot.is_active := true;
  if p_slot ? 'is_active' then
    if jsonb_typeof(p_slot->'is_active') <> 'boolean' then
      raise exception '%: is_active % is not true or false.', v_label, p_slot->'is_active'
        using errcode = 'UPJSN',
              hint = 'Give true (the slot is used) or false (it is switched off).';
    end if;
    v_slot.is_active := (p_slot->>'is_active')::boolean;
  end if;

  if jsonb_typeof(p_slot->'min_interval') = 'string' then
    begin
      v_slot.min_interval := (p_slot->>'min_interval')::interval;
    exception when invalid_datetime_format or datetime_field_overflow or interval_field_overflow then
      raise exception '%: min_interval % is not an interval.', v_label, p_slot->'min_interval'
        using errcode = 'UPPAC',
              hint = 'Give an interval such as "45 minutes", or null for no pacing.';
    end;
  elsif jsonb_typeof(p_slot->'min_interval') not in ('null') then
    raise exception '%: min_interval % is not an interval.', v_label, p_slot->'min_interval'
      using errcode = 'UPPAC',
            hint = 'Give an interval as a string such as "45 minutes", or null for no pacing.';
  end if;
  return v_slot;
end;
$$;

comment on function upload_scheduler_private.schedule_slot_from_json(uuid, integer, jsonb) is
  E'Internal: one element of set_schedule''s array as an upload_schedules row (id not set): its keys and JSON types checked, each problem naming its position and key. The slot''s rules are the table''s.';

-- Re-raises an error of the table's rules with the position of the element that broke it.
create or replace function upload_scheduler_private.raise_for_slot(
  p_position integer,
  p_slot public.upload_schedules,
  p_state text,
  p_message text,
  p_detail text,
  p_hint text
)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception '%', format('slot %s (%s %s-%s): %s', p_position, p_slot.day, p_slot.start_time, p_slot.end_time, p_message)
    using errcode = case when p_state = '23P01' then 'UPOVL' else p_state end,
          detail = coalesce(p_detail, ''),
          hint = coalesce(p_hint, 'Make the active slots of each weekday disjoint (ends are inclusive).');
end;
$$;

comment on function upload_scheduler_private.raise_for_slot(integer, public.upload_schedules, text, text, text, text) is
  E'Internal: re-raises a slot rule''s error (its code, hint and detail) prefixed with the JSON element''s position, for set_schedule.';

create or replace function upload_scheduler.set_schedule(p_user_id uuid, p_slots jsonb)
returns setof public.upload_schedules
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_new public.upload_schedules[] := '{}';
  v_slot public.upload_schedules;
  v_position integer := 0;
  v_element jsonb;
  v_repeat record;
  v_state text;
  v_message text;
  v_detail text;
  v_hint text;
begin
  perform upload_scheduler_private.user_time_zone(p_user_id);
  if jsonb_typeof(p_slots) is distinct from 'array' then
    raise exception 'p_slots is %, not a JSON array of slots.', coalesce(jsonb_typeof(p_slots), 'NULL')
      using errcode = 'UPJSN',
            hint = 'Pass an array such as ''[{"day": "monday", "start_time": "09:00:00", "end_time": "11:59:59", "max_uploads": 1}]'' (''[]'' removes every slot).';
  end if;
  for v_element in select e from jsonb_array_elements(p_slots) e loop
    v_position := v_position + 1;
    v_new := v_new || upload_scheduler_private.schedule_slot_from_json(p_user_id, v_position, v_element);
  end loop;

  -- A slot is known by (day, start_time, end_time): the week gives each once.
  select a.ordinality as a_n, b.ordinality as b_n, b.day, b.start_time, b.end_time into v_repeat
  from unnest(v_new) with ordinality as a
  join unnest(v_new) with ordinality as b
    on b.ordinality > a.ordinality and (b.day, b.start_time, b.end_time) = (a.day, a.start_time, a.end_time)
  order by b.ordinality
  limit 1;
  if found then
    raise exception 'slot % (% %-%) repeats slot %.', v_repeat.b_n, v_repeat.day, v_repeat.start_time, v_repeat.end_time, v_repeat.a_n
      using errcode = 'UPOVL',
            hint = 'Give each (day, start_time, end_time) once.';
  end if;

  -- Serialise with the user's claims and other schedule changes.
  perform upload_scheduler_private.mark_due(array[p_user_id]);

  -- A slot equal in (day, start_time, end_time) to one of the new week keeps its id. The others
  -- are deleted as a plain DELETE deletes them (their places stay on record: a slot created at an
  -- overlapping time still sees them).
  delete from public.upload_schedules s
  where s.user_id = p_user_id
    and not exists (select 1 from unnest(v_new) n where (n.day, n.start_time, n.end_time) = (s.day, s.start_time, s.end_time));

  -- Switch off first, then change and switch on, then add: no step overlaps what remains. Each
  -- row goes through the table's rules; an error names the element.
  v_position := 0;
  foreach v_slot in array v_new loop
    v_position := v_position + 1;
    begin
      update public.upload_schedules s set is_active = false
      where s.user_id = p_user_id and (s.day, s.start_time, s.end_time) = (v_slot.day, v_slot.start_time, v_slot.end_time)
        and s.is_active and not v_slot.is_active;
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail, v_hint = pg_exception_hint;
      perform upload_scheduler_private.raise_for_slot(v_position, v_slot, v_state, v_message, v_detail, v_hint);
    end;
  end loop;
  v_position := 0;
  foreach v_slot in array v_new loop
    v_position := v_position + 1;
    begin
      update public.upload_schedules s
      set max_uploads = v_slot.max_uploads, slot_name = v_slot.slot_name, is_active = v_slot.is_active, min_interval = v_slot.min_interval
      where s.user_id = p_user_id and (s.day, s.start_time, s.end_time) = (v_slot.day, v_slot.start_time, v_slot.end_time)
        and (s.max_uploads, s.slot_name, s.is_active, s.min_interval)
            is distinct from (v_slot.max_uploads, v_slot.slot_name, v_slot.is_active, v_slot.min_interval);
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail, v_hint = pg_exception_hint;
      perform upload_scheduler_private.raise_for_slot(v_position, v_slot, v_state, v_message, v_detail, v_hint);
    end;
  end loop;
  v_position := 0;
  foreach v_slot in array v_new loop
    v_position := v_position + 1;
    begin
      insert into public.upload_schedules (user_id, day, start_time, end_time, max_uploads, slot_name, is_active, min_interval)
      select p_user_id, v_slot.day, v_slot.start_time, v_slot.end_time, v_slot.max_uploads, v_slot.slot_name, v_slot.is_active, v_slot.min_interval
      where not exists (
        select 1 from public.upload_schedules s
        where s.user_id = p_user_id and (s.day, s.start_time, s.end_time) = (v_slot.day, v_slot.start_time, v_slot.end_time));
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail, v_hint = pg_exception_hint;
      perform upload_scheduler_private.raise_for_slot(v_position, v_slot, v_state, v_message, v_detail, v_hint);
    end;
  end loop;

  return query
    select s.* from public.upload_schedules s
    where s.user_id = p_user_id
    order by array_position(array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']::text[], s.day::text), s.start_time;
end;
$$;

comment on function upload_scheduler.set_schedule(uuid, jsonb) is
  E'Replaces the user''s whole week with p_slots, the design note''s JSON array (day, start_time, end_time, and optional max_uploads (1), slot_name, is_active (true), min_interval, user_id), all or nothing. A slot equal in (day, start_time, end_time) to an existing one keeps its id; the others are deleted like a plain DELETE (the places taken stay on record, so no slot gets a fresh quota). Every slot goes through the table''s rules; errors name the element. ''[]'' removes every slot. Returns the week.';

create or replace function upload_scheduler.get_schedule(p_user_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform upload_scheduler_private.user_time_zone(p_user_id);
  return coalesce((
    select jsonb_agg(
             jsonb_build_object(
               'user_id', s.user_id, 'day', s.day, 'start_time', to_char(s.start_time, 'HH24:MI:SS'),
               'end_time', to_char(s.end_time, 'HH24:MI:SS'), 'max_uploads', s.max_uploads,
               'slot_name', s.slot_name, 'is_active', s.is_active)
             || case when s.min_interval is null then '{}'::jsonb else jsonb_build_object('min_interval', s.min_interval::text) end
             order by array_position(array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']::text[], s.day::text),
                      s.start_time, s.is_active desc)
    from public.upload_schedules s
    where s.user_id = p_user_id), '[]'::jsonb);
end;
$$;

comment on function upload_scheduler.get_schedule(uuid) is
  E'The user''s week in set_schedule''s JSON format, Monday first, then by start_time: set_schedule(u, get_schedule(u)) changes nothing.';
