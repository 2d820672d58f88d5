-- Validates a slot, stores its weekday lowercase, and refuses overlaps with the user's other
-- active slots. Every change of a slot marks its owner due, which takes the owner's due row:
-- claims lock it too, so a claim sees the schedule either before the change or after it.
create or replace function upload_scheduler_private.tg_upload_schedules__validate()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_other public.upload_schedules;
  v_label text;
begin
  if tg_op = 'DELETE' then
    perform upload_scheduler_private.mark_due(array[old.user_id]);
    return old;
  end if;

  if new.id is null then
    raise exception 'upload_schedules.id is NULL.'
      using errcode = 'UPARG',
            hint = 'Leave id out to get a generated one, or give a uuid.';
  end if;
  if tg_op = 'UPDATE' and new.id <> old.id then
    raise exception 'The id of slot % cannot change (to %).', old.id, new.id
      using errcode = 'UPIMM',
            detail = 'The slot''s uses of each day are counted under its id.',
            hint = 'Change the slot''s other columns, or delete it and insert a new one.';
  end if;
  if tg_op = 'UPDATE' and new.user_id is distinct from old.user_id then
    raise exception 'Slot % belongs to user % and cannot be given to user %.', old.id, old.user_id, coalesce(new.user_id::text, 'NULL')
      using errcode = 'UPIMM',
            hint = 'Insert a slot for the other user instead (and delete this one if it should go).';
  end if;
  if new.user_id is null then
    raise exception 'A slot needs a user: user_id is NULL.'
      using errcode = 'UPNUS',
            hint = 'Give the id of a row of public.users.';
  end if;
  -- A user of another tenant is reported as missing (nothing about it leaks).
  if not exists (select 1 from public.users u where u.id = new.user_id)
     or new.user_id <> coalesce(upload_scheduler_private.acting_user_id(), new.user_id) then
    raise exception 'No user with id %.', new.user_id
      using errcode = 'UPNUS',
            hint = 'Insert the user first (insert into users (id) values (…)), or give the id of an existing one.';
  end if;
  -- Serialise slot changes of one user (two sessions cannot each add one half of an overlap
  -- at READ COMMITTED), and changes with the user's claims; the next tick looks at the user.
  perform upload_scheduler_private.mark_due(array[new.user_id]);

  new.day := upload_scheduler_private.normalize_weekday(new.day);
  v_label := format('Slot %s-%s on %s', coalesce(new.start_time::text, 'NULL'), coalesce(new.end_time::text, 'NULL'), new.day);

  if new.start_time is null or new.end_time is null then
    raise exception '% has no %.', v_label, case when new.start_time is null then 'start_time' else 'end_time' end
      using errcode = 'UPTIM',
            hint = 'Give both ends as times of day, e.g. start_time ''09:00:00'' and end_time ''11:59:59''.';
  end if;
  if new.start_time <> date_trunc('second', new.start_time) or new.end_time <> date_trunc('second', new.end_time) then
    raise exception '% has a fraction of a second.', v_label
      using errcode = 'UPTIM',
            detail = 'Slots are compared with the clock at whole seconds.',
            hint = 'Give whole seconds, e.g. 09:00:00 to 11:59:59.';
  end if;
  if new.start_time >= new.end_time then
    raise exception '% ends before it starts: start_time must be before end_time.', v_label
      using errcode = 'UPTIM',
            detail = 'Both ends of a slot are inclusive and a slot lies within one day.',
            hint = 'Give an end_time later than start_time, e.g. 09:00:00 to 11:59:59. For a slot across midnight, create two slots.';
  end if;
  if new.end_time > time '23:59:59' then
    raise exception '% ends at 24:00:00, the next day''s midnight.', v_label
      using errcode = 'UPTIM',
            detail = 'Both ends of a slot are inclusive and a slot lies within one day: the last second of a day is 23:59:59.',
            hint = 'End it at 23:59:59 (and start the next day''s slot at 00:00:00 to go on past midnight).';
  end if;
  if new.max_uploads is null or new.max_uploads < 0 then
    raise exception 'max_uploads % is %.', coalesce(new.max_uploads::text, 'NULL'), case when new.max_uploads is null then 'missing' else 'negative' end
      using errcode = 'UPQTA',
            hint = 'Use 0 or more; 0 pauses the slot, is_active = false switches it off.';
  end if;
  if new.is_active is null then
    raise exception '% has is_active NULL.', v_label
      using errcode = 'UPARG',
            hint = 'Use true (the slot is used) or false (it is switched off).';
  end if;
  if new.created_at is null then
    raise exception '% has created_at NULL.', v_label
      using errcode = 'UPARG',
            hint = 'Leave created_at out for now().';
  end if;
  if new.min_interval is not null and (new.min_interval <= interval '0' or new.min_interval >= interval '1 day') then
    raise exception '% has min_interval %, which is not positive and under a day.', v_label, quote_literal(new.min_interval::text)
      using errcode = 'UPPAC',
            hint = 'Give the least time between two claims into the slot on one day, e.g. ''45 minutes''; NULL for no pacing.';
  end if;
  if length(new.slot_name) > 50 then
    raise exception 'slot_name % is % characters long.', quote_literal(left(new.slot_name, 60) || case when length(new.slot_name) > 60 then '…' else '' end), length(new.slot_name)
      using errcode = 'UPNAM',
            hint = 'Use at most 50 characters, e.g. ''morning''.';
  end if;

  if new.is_active then
    select s.* into v_other
    from public.upload_schedules s
    where s.user_id = new.user_id
      and s.day = new.day
      and s.is_active
      and s.id <> new.id
      and s.start_time <= new.end_time
      and new.start_time <= s.end_time
    order by s.start_time
    limit 1;

    if found then
      raise exception 'Slot %-% on % overlaps slot % (%-%) of the same user.',
          new.start_time, new.end_time, new.day,
          coalesce(quote_literal(v_other.slot_name), v_other.id::text), v_other.start_time, v_other.end_time
        using errcode = 'UPOVL',
              detail = format('Existing slot id: %s. Both ends are inclusive, so 09:00-10:00 and 10:00-11:00 share 10:00:00.', v_other.id),
              hint = 'Make the slots disjoint (e.g. 09:00:00-09:59:59 and 10:00:00-10:59:59), or set is_active = false on one of them.';
    end if;
  end if;

  return new;
end;
$$;

comment on function upload_scheduler_private.tg_upload_schedules__validate() is
  E'Trigger: stores day lowercase and refuses an unknown weekday (UPDAY), missing, fractional or reversed times (UPTIM), a missing or negative max_uploads (UPQTA), a slot_name over 50 characters (UPNAM), a min_interval that is not positive and under a day (UPPAC), an unknown user (UPNUS), a changed id or user_id (UPIMM) and overlapping active slots of one user (UPOVL). Marks the owner due (taking its due row''s lock).';

drop trigger if exists tg_upload_schedules__validate on public.upload_schedules;
create trigger tg_upload_schedules__validate
  before insert or update or delete on public.upload_schedules
  for each row execute function upload_scheduler_private.tg_upload_schedules__validate();
