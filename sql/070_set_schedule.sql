-- The week as JSON, in the design note's format: an array of
--   {"day": "monday", "start_time": "09:00:00", "end_time": "11:59:59", "max_uploads": 1,
--    "slot_name": "morning", "is_active": true, "min_interval": "45 minutes", "user_id": "…"}
-- (max_uploads, slot_name, is_active, min_interval and user_id optional).

-- Reads and checks one element of the array; every problem names its position and key.
create or replace function upload_scheduler_private.schedule_slot_from_json(
  p_user_id uuid,
  p_position integer,
  p_slot jsonb
)
returns public.upload_schedules
language plpgsql
stable
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_slot public.upload_schedules;
  v_label text;
  v_key text;
  v_text text;
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
      v_text := (p_slot->>v_key)::time::text;
    exception when invalid_datetime_format or datetime_field_overflow then
      raise exception '%: % % is not a time of day.', v_label, v_key, p_slot->v_key
        using errcode = 'UPTIM',
              hint = 'Write times as "HH:MM:SS", e.g. "09:00:00".';
    end;
  end loop;
  v_slot.start_time := (p_slot->>'start_time')::time;
  v_slot.end_time := (p_slot->>'end_time')::time;
  if v_slot.start_time <> date_trunc('second', v_slot.start_time) or v_slot.end_time <> date_trunc('second', v_slot.end_time) then
    raise exception '%: times have a fraction of a second.', v_label
      using errcode = 'UPTIM',
            hint = 'Give whole seconds, e.g. "09:00:00" to "11:59:59".';
  end if;
  if v_slot.start_time >= v_slot.end_time then
    raise exception '%: end_time is not after start_time.', v_label
      using errcode = 'UPTIM',
            hint = 'Both ends are inclusive and a slot lies within one day: e.g. "09:00:00" to "11:59:59"; for a slot across midnight, give two slots.';
  end if;

  v_slot.max_uploads := 1;
  if p_slot ? 'max_uploads' then
    if jsonb_typeof(p_slot->'max_uploads') <> 'number' or (p_slot->>'max_uploads') !~ '^-?[0-9]+$' or length(p_slot->>'max_uploads') > 10 then
      raise exception '%: max_uploads % is not a whole number.', v_label, p_slot->'max_uploads'
        using errcode = 'UPQTA',
              hint = 'Give the uploads allowed per day as a number, e.g. 2 (0 pauses the slot).';
    end if;
    if (p_slot->>'max_uploads')::bigint < 0 or (p_slot->>'max_uploads')::bigint > 2147483647 then
      raise exception '%: max_uploads % is %.', v_label, p_slot->'max_uploads',
          case when (p_slot->>'max_uploads')::bigint < 0 then 'negative' else 'too large' end
        using errcode = 'UPQTA',
              hint = 'Use 0 or more; 0 pauses the slot, "is_active": false switches it off.';
    end if;
    v_slot.max_uploads := (p_slot->>'max_uploads')::integer;
  end if;

  if jsonb_typeof(p_slot->'slot_name') not in ('string', 'null') then
    raise exception '%: slot_name % is not a string.', v_label, p_slot->'slot_name'
      using errcode = 'UPNAM',
            hint = 'Give a name such as "morning", or null.';
  end if;
  v_slot.slot_name := p_slot->>'slot_name';
  if length(v_slot.slot_name) > 50 then
    raise exception '%: slot_name is % characters long.', v_label, length(v_slot.slot_name)
      using errcode = 'UPNAM',
            hint = 'Use at most 50 characters.';
  end if;

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
    if v_slot.min_interval <= interval '0' or v_slot.min_interval >= interval '1 day' then
      raise exception '%: min_interval % is not positive and under a day.', v_label, p_slot->'min_interval'
        using errcode = 'UPPAC',
              hint = 'Give the least time between two claims into the slot, e.g. "45 minutes", or null for no pacing.';
    end if;
  elsif jsonb_typeof(p_slot->'min_interval') not in ('null') then
    raise exception '%: min_interval % is not an interval.', v_label, p_slot->'min_interval'
      using errcode = 'UPPAC',
            hint = 'Give an interval as a string such as "45 minutes", or null for no pacing.';
  end if;
  return v_slot;
end;
$$;

comment on function upload_scheduler_private.schedule_slot_from_json(uuid, integer, jsonb) is
  E'Internal: one element of set_schedule''s array as an upload_schedules row (id not set), or an error naming its position and key.';

create or replace function upload_scheduler.set_schedule(p_user_id uuid, p_slots jsonb)
returns setof public.upload_schedules
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_new public.upload_schedules[] := '{}';
  v_slot public.upload_schedules;
  v_position integer := 0;
  v_element jsonb;
  v_clash record;
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

  -- Within the new week: one slot per (day, start, end), and no overlapping active slots.
  select a.ordinality as a_n, b.ordinality as b_n, a.day, a.start_time as a_start, a.end_time as a_end,
         b.start_time as b_start, b.end_time as b_end,
         a.start_time = b.start_time and a.end_time = b.end_time as same
    into v_clash
  from unnest(v_new) with ordinality as a
  join unnest(v_new) with ordinality as b on b.ordinality > a.ordinality and b.day = a.day
  where (a.start_time = b.start_time and a.end_time = b.end_time)
     or (a.is_active and b.is_active and a.start_time <= b.end_time and b.start_time <= a.end_time)
  order by b.ordinality, a.ordinality
  limit 1;
  if found then
    raise exception 'slot % (% %-%) %s slot % (% %-%).', v_clash.b_n, v_clash.day, v_clash.b_start, v_clash.b_end,
        case when v_clash.same then 'repeat' else 'overlap' end,
        v_clash.a_n, v_clash.day, v_clash.a_start, v_clash.a_end
      using errcode = 'UPOVL',
            detail = 'Both ends are inclusive, so 09:00:00-10:00:00 and 10:00:00-11:00:00 share 10:00:00.',
            hint = case when v_clash.same then 'Give each (day, start_time, end_time) once.'
                        else 'Make active slots disjoint (e.g. 09:00:00-09:59:59 and 10:00:00-10:59:59), or give one "is_active": false.' end;
  end if;

  -- Serialise with the user's claims and other schedule changes.
  perform 1 from public.users u where u.id = p_user_id for no key update;

  -- A slot equal in (day, start_time, end_time) to one of the new week keeps its id, and so its
  -- uses of today: replacing the week never gives a slot a fresh quota. The others are deleted
  -- as a plain DELETE deletes them (their uses are retired, not forgotten).
  with keep as (
    select distinct on (n.day, n.start_time, n.end_time) s.id
    from unnest(v_new) n
    join public.upload_schedules s
      on s.user_id = p_user_id and s.day = n.day and s.start_time = n.start_time and s.end_time = n.end_time
    order by n.day, n.start_time, n.end_time, s.is_active desc, s.created_at, s.id
  )
  delete from public.upload_schedules s
  where s.user_id = p_user_id and s.id not in (select id from keep);

  -- Switch off first, then change and switch on, then add: no step overlaps what remains.
  update public.upload_schedules s
  set is_active = false
  from unnest(v_new) n
  where s.user_id = p_user_id and s.day = n.day and s.start_time = n.start_time and s.end_time = n.end_time
    and s.is_active and not n.is_active;
  update public.upload_schedules s
  set max_uploads = n.max_uploads, slot_name = n.slot_name, is_active = n.is_active, min_interval = n.min_interval
  from unnest(v_new) n
  where s.user_id = p_user_id and s.day = n.day and s.start_time = n.start_time and s.end_time = n.end_time
    and (s.max_uploads, s.slot_name, s.is_active, s.min_interval) is distinct from (n.max_uploads, n.slot_name, n.is_active, n.min_interval);
  insert into public.upload_schedules (user_id, day, start_time, end_time, max_uploads, slot_name, is_active, min_interval)
  select p_user_id, n.day, n.start_time, n.end_time, n.max_uploads, n.slot_name, n.is_active, n.min_interval
  from unnest(v_new) n
  where not exists (
    select 1 from public.upload_schedules s
    where s.user_id = p_user_id and s.day = n.day and s.start_time = n.start_time and s.end_time = n.end_time);

  return query
    select s.* from public.upload_schedules s
    where s.user_id = p_user_id
    order by array_position(array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']::text[], s.day::text), s.start_time;
end;
$$;

comment on function upload_scheduler.set_schedule(uuid, jsonb) is
  E'Replaces the user''s whole week with p_slots, the design note''s JSON array (day, start_time, end_time, and optional max_uploads (1), slot_name, is_active (true), min_interval, user_id), all or nothing. A slot equal in (day, start_time, end_time) to an existing one keeps its id and today''s count; the others are deleted like a plain DELETE. ''[]'' removes every slot. Errors name the element and key. Returns the week.';

create or replace function upload_scheduler.get_schedule(p_user_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
set jit = off
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
