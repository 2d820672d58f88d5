-- Validates a slot, stores its weekday lowercase, and refuses overlaps with the user's other active slots.
create or replace function upload_scheduler_private.tg_upload_schedules__validate()
returns trigger
language plpgsql
set search_path = pg_catalog
as $$
declare
  v_other public.upload_schedules;
begin
  new.day := upload_scheduler_private.normalize_weekday(new.day);

  if new.start_time >= new.end_time then
    raise exception 'Slot %-% on % ends before it starts: start_time must be before end_time.',
        new.start_time, new.end_time, new.day
      using errcode = 'UPTIM',
            detail = 'Both ends of a slot are inclusive and a slot lies within one day.',
            hint = 'Give an end_time later than start_time, e.g. 09:00:00 to 11:59:59. For a slot across midnight, create two slots.';
  end if;

  if new.max_uploads < 0 then
    raise exception 'max_uploads % is negative.', new.max_uploads
      using errcode = 'UPQTA',
            hint = 'Use 0 or more; 0 pauses the slot, is_active = false switches it off.';
  end if;

  if new.is_active then
    -- Serialise slot changes of one user, so two sessions cannot each add one half of an overlap.
    perform 1 from public.users where id = new.user_id for no key update;

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
  E'Trigger: stores day lowercase and rejects an unknown weekday (UPDAY), start_time >= end_time (UPTIM), negative max_uploads (UPQTA) and overlapping active slots of one user (UPOVL).';

drop trigger if exists tg_upload_schedules__validate on public.upload_schedules;
create trigger tg_upload_schedules__validate
  before insert or update on public.upload_schedules
  for each row execute function upload_scheduler_private.tg_upload_schedules__validate();
