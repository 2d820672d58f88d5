-- The week as JSON, in the design note's format: an array of
--   {"day": "monday", "start_time": "09:00:00", "end_time": "11:59:59", "max_uploads": 1,
--    "slot_name": "morning", "is_active": true, "min_interval": "45 minutes", "user_id": "…"}
-- (max_uploads, slot_name, is_active, min_interval and user_id optional), or an object
--   {"slots": [ …the array… ], "limits": [{"max_uploads": 50, "per": "24 hours"},
--                                         {"max_uploads": 10, "per": "1 day", "time_zone": "America/Los_Angeles"}]}
-- that also replaces the user's limits (public.upload_limits; a key left out leaves that part as it is).
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
create or replace function upload_scheduler_private.raise_for_element(
  p_element text,
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
  raise exception '%', format('%s: %s', p_element, p_message)
    using errcode = p_state, detail = coalesce(p_detail, ''), hint = coalesce(p_hint, '');
end;
$$;

comment on function upload_scheduler_private.raise_for_element(text, text, text, text, text) is
  E'Internal: re-raises a table rule''s error (its code, detail and hint) prefixed with the JSON element it came from (set_schedule''s slots and limits).';

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
  perform upload_scheduler_private.raise_for_element(
    format('slot %s (%s %s-%s)', p_position, p_slot.day, p_slot.start_time, p_slot.end_time),
    case when p_state = '23P01' then 'UPOVL' else p_state end,
    p_message, p_detail, coalesce(p_hint, 'Make the active slots of each weekday disjoint (ends are inclusive).'));
end;
$$;

comment on function upload_scheduler_private.raise_for_slot(integer, public.upload_schedules, text, text, text, text) is
  E'Internal: re-raises a slot rule''s error (its code, hint and detail) prefixed with the JSON element''s position, for set_schedule.';

-- Reads one element of the "limits" array into an upload_limits row: keys and JSON types only;
-- the ranges are the table's CHECK constraints, the time zone its trigger's.
create or replace function upload_scheduler_private.schedule_limit_from_json(
  p_user_id uuid,
  p_position integer,
  p_limit jsonb
)
returns public.upload_limits
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_limit public.upload_limits;
  v_label text;
  v_key text;
begin
  if jsonb_typeof(p_limit) is distinct from 'object' then
    raise exception 'limit %: % is not an object.', p_position, coalesce(left(p_limit::text, 60), 'NULL')
      using errcode = 'UPJSN',
            hint = 'Each limit is an object such as {"max_uploads": 50, "per": "24 hours"} (rolling) or {"max_uploads": 10, "per": "1 day", "time_zone": "America/Los_Angeles"} (calendar).';
  end if;
  v_label := format('limit %s (%s per %s%s)', p_position, coalesce(p_limit->>'max_uploads', '?'), coalesce(p_limit->>'per', '?'),
                    coalesce(' in ' || (p_limit->>'time_zone'), ''));
  for v_key in select jsonb_object_keys(p_limit) loop
    if v_key not in ('max_uploads', 'per', 'time_zone', 'note', 'user_id') then
      raise exception '%: unknown key %.', v_label, to_json(v_key)
        using errcode = 'UPJSN',
              hint = 'The keys of a limit are max_uploads, per, time_zone (null: rolling) and note.';
    end if;
  end loop;
  if p_limit ? 'user_id' and (p_limit->>'user_id') is distinct from p_user_id::text then
    raise exception '%: user_id % is not the user whose limits these are (%).', v_label, p_limit->'user_id', p_user_id
      using errcode = 'UPJSN',
            hint = 'Leave user_id out, or give the same user as p_user_id.';
  end if;
  if jsonb_typeof(p_limit->'max_uploads') is distinct from 'number' or (p_limit->>'max_uploads') !~ '^-?[0-9]+$'
     or length(p_limit->>'max_uploads') > 10 or abs((p_limit->>'max_uploads')::bigint) > 2147483647 then
    raise exception '%: max_uploads % is not a whole number.', v_label, coalesce((p_limit->'max_uploads')::text, 'is missing')
      using errcode = 'UPQTA',
            hint = 'Give the uploads the limit allows in its window as a number, e.g. 50.';
  end if;
  if jsonb_typeof(p_limit->'per') is distinct from 'string' then
    raise exception '%: per % is not an interval.', v_label, coalesce((p_limit->'per')::text, 'is missing')
      using errcode = 'UPARG',
            hint = 'Give the window as a string, e.g. "24 hours" (rolling) or "1 day" (calendar, with time_zone).';
  end if;
  begin
    v_limit.per := (p_limit->>'per')::interval;
  exception when invalid_datetime_format or datetime_field_overflow or interval_field_overflow then
    raise exception '%: per % is not an interval.', v_label, p_limit->'per'
      using errcode = 'UPARG',
            hint = 'Give the window as a string, e.g. "24 hours" (rolling) or "1 day" (calendar, with time_zone).';
  end;
  if jsonb_typeof(p_limit->'time_zone') not in ('string', 'null') then
    raise exception '%: time_zone % is not a string.', v_label, p_limit->'time_zone'
      using errcode = 'UPJSN',
            hint = 'Give an IANA zone such as "America/Los_Angeles" for calendar days, or null (or no key) for a rolling window.';
  end if;
  if jsonb_typeof(p_limit->'note') not in ('string', 'null') then
    raise exception '%: note % is not a string.', v_label, p_limit->'note'
      using errcode = 'UPJSN',
            hint = 'Give a note such as "Instagram: 50 a day", or null.';
  end if;
  v_limit.user_id := p_user_id;
  v_limit.max_uploads := (p_limit->>'max_uploads')::integer;
  v_limit.time_zone := p_limit->>'time_zone';
  v_limit.note := p_limit->>'note';
  return v_limit;
end;
$$;

comment on function upload_scheduler_private.schedule_limit_from_json(uuid, integer, jsonb) is
  E'Internal: one element of set_schedule''s "limits" array as an upload_limits row (id not set): its keys and JSON types checked, each problem naming its position. The limit''s rules are the table''s.';

-- Replaces the user's limits with p_limits (set_schedule's "limits"): a limit equal in
-- (max_uploads, per, time_zone) keeps its id (its note is updated), the others are deleted, the
-- new ones inserted, each through the table's rules, an error naming the element. The claims a
-- limit counts are the ledger's, not the limit row's: replacing a limit forgets nothing.
create or replace function upload_scheduler_private.replace_limits(p_user_id uuid, p_limits jsonb)
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_new public.upload_limits[] := '{}';
  v_limit public.upload_limits;
  v_position integer := 0;
  v_element jsonb;
  v_repeat record;
  v_state text;
  v_message text;
  v_detail text;
  v_hint text;
begin
  if jsonb_typeof(p_limits) is distinct from 'array' then
    raise exception '"limits" is %, not a JSON array of limits.', coalesce(jsonb_typeof(p_limits), 'NULL')
      using errcode = 'UPJSN',
            hint = 'Give an array such as [{"max_uploads": 50, "per": "24 hours"}] ([] removes every limit; leave the key out to keep them).';
  end if;
  for v_element in select e from jsonb_array_elements(p_limits) e loop
    v_position := v_position + 1;
    v_new := v_new || upload_scheduler_private.schedule_limit_from_json(p_user_id, v_position, v_element);
  end loop;
  select a.ordinality as a_n, b.ordinality as b_n into v_repeat
  from unnest(v_new) with ordinality as a
  join unnest(v_new) with ordinality as b
    on b.ordinality > a.ordinality and (b.max_uploads, b.per, b.time_zone) is not distinct from (a.max_uploads, a.per, a.time_zone)
  order by b.ordinality
  limit 1;
  if found then
    raise exception 'limit % repeats limit %.', v_repeat.b_n, v_repeat.a_n
      using errcode = 'UPJSN',
            hint = 'Give each (max_uploads, per, time_zone) once.';
  end if;

  delete from public.upload_limits l
  where l.user_id = p_user_id
    and not exists (select 1 from unnest(v_new) n
                    where (n.max_uploads, n.per, n.time_zone) is not distinct from (l.max_uploads, l.per, l.time_zone));
  v_position := 0;
  foreach v_limit in array v_new loop
    v_position := v_position + 1;
    begin
      update public.upload_limits l set note = v_limit.note
      where l.user_id = p_user_id and (l.max_uploads, l.per, l.time_zone) is not distinct from (v_limit.max_uploads, v_limit.per, v_limit.time_zone)
        and l.note is distinct from v_limit.note;
      insert into public.upload_limits (user_id, max_uploads, per, time_zone, note)
      select p_user_id, v_limit.max_uploads, v_limit.per, v_limit.time_zone, v_limit.note
      where not exists (
        select 1 from public.upload_limits l
        where l.user_id = p_user_id and (l.max_uploads, l.per, l.time_zone) is not distinct from (v_limit.max_uploads, v_limit.per, v_limit.time_zone));
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail, v_hint = pg_exception_hint;
      perform upload_scheduler_private.raise_for_element(
        format('limit %s (%s per %s%s)', v_position, v_limit.max_uploads, v_limit.per, coalesce(' in ' || v_limit.time_zone, '')),
        v_state, v_message, v_detail, v_hint);
    end;
  end loop;
end;
$$;

comment on function upload_scheduler_private.replace_limits(uuid, jsonb) is
  E'Internal: replaces the user''s limits (public.upload_limits) with set_schedule''s "limits" array, all through the table''s rules; a limit equal in (max_uploads, per, time_zone) keeps its id.';

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
  v_slots jsonb := p_slots;
  v_key text;
begin
  perform upload_scheduler_private.user_time_zone(p_user_id);
  if jsonb_typeof(p_slots) = 'object' then
    -- {"slots": [...], "limits": [...]}: a key left out leaves that part as it is.
    for v_key in select jsonb_object_keys(p_slots) loop
      if v_key not in ('slots', 'limits') then
        raise exception 'p_slots is object, not a JSON array of slots nor {"slots": [...], "limits": [...]}: unknown key %.', to_json(v_key)
          using errcode = 'UPJSN',
                hint = 'Pass the week as an array of slots, e.g. ''[{"day": "monday", "start_time": "09:00:00", "end_time": "11:59:59"}]'', or an object with the keys "slots" (that array) and "limits" (an array of {"max_uploads", "per", "time_zone"}).';
      end if;
    end loop;
    v_slots := p_slots->'slots';
    if v_slots is null and not p_slots ? 'limits' then
      raise exception 'p_slots is an object with neither "slots" nor "limits".'
        using errcode = 'UPJSN',
              hint = 'Give {"slots": [...]} and/or {"limits": [...]}, or the week''s array alone.';
    end if;
  elsif jsonb_typeof(p_slots) is distinct from 'array' then
    raise exception 'p_slots is %, not a JSON array of slots.', coalesce(jsonb_typeof(p_slots), 'NULL')
      using errcode = 'UPJSN',
            hint = 'Pass an array such as ''[{"day": "monday", "start_time": "09:00:00", "end_time": "11:59:59", "max_uploads": 1}]'' (''[]'' removes every slot), or {"slots": [...], "limits": [...]}.';
  end if;
  if v_slots is not null and jsonb_typeof(v_slots) is distinct from 'array' then
    raise exception '"slots" is %, not a JSON array of slots.', jsonb_typeof(v_slots)
      using errcode = 'UPJSN',
            hint = 'Give "slots" as an array such as [{"day": "monday", "start_time": "09:00:00", "end_time": "11:59:59", "max_uploads": 1}].';
  end if;
  for v_element in select e from jsonb_array_elements(coalesce(v_slots, '[]')) e loop
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

  if jsonb_typeof(p_slots) = 'object' and p_slots ? 'limits' then
    perform upload_scheduler_private.replace_limits(p_user_id, p_slots->'limits');
  end if;
  if v_slots is null then
    return query
      select s.* from public.upload_schedules s
      where s.user_id = p_user_id
      order by array_position(array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']::text[], s.day::text), s.start_time;
    return;
  end if;

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
  E'Replaces the user''s whole week with p_slots, the design note''s JSON array (day, start_time, end_time, and optional max_uploads (1), slot_name, is_active (true), min_interval, user_id), all or nothing. p_slots may instead be an object {"slots": [...], "limits": [...]}: "limits" replaces the user''s limits (public.upload_limits: max_uploads, per, time_zone, note; a limit equal in the first three keeps its id); a key left out leaves that part as it is (get_schedule(u, true) gives this form back). A slot equal in (day, start_time, end_time) to an existing one keeps its id; the others are deleted like a plain DELETE (the places taken stay on record, so no slot gets a fresh quota). Every slot goes through the table''s rules; errors name the element. ''[]'' removes every slot. Returns the week.';

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

-- The week and the limits together, in set_schedule's object form.
create or replace function upload_scheduler.get_schedule(p_user_id uuid, p_with_limits boolean)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_with_limits is null then
    raise exception 'p_with_limits is NULL.'
      using errcode = 'UPARG',
            hint = 'Pass true for {"slots": [...], "limits": [...]}, or false (or call get_schedule(u)) for the week''s array alone.';
  end if;
  if not p_with_limits then
    return upload_scheduler.get_schedule(p_user_id);
  end if;
  return jsonb_build_object(
    'slots', upload_scheduler.get_schedule(p_user_id),
    'limits', coalesce((
      select jsonb_agg(
               jsonb_build_object('max_uploads', l.max_uploads, 'per', l.per::text, 'time_zone', l.time_zone, 'note', l.note)
               order by l.per, l.time_zone nulls first, l.max_uploads)
      from public.upload_limits l
      where l.user_id = p_user_id), '[]'::jsonb));
end;
$$;

comment on function upload_scheduler.get_schedule(uuid, boolean) is
  E'With p_with_limits true: the user''s week and limits as {"slots": [...], "limits": [...]}, set_schedule''s object form, so set_schedule(u, get_schedule(u, true)) changes nothing. False: the week''s array, as get_schedule(u).';
