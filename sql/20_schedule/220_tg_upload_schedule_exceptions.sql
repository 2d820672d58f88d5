-- A date exception. Its date range, quota and note length are CHECK constraints of the table;
-- this trigger checks what needs other rows (the user, the tenant, the slot's owner and weekday)
-- and, like a slot change, marks the owner due (taking its due row's lock), so a claim sees the
-- quota before or after it, never half of a change.
create or replace function upload_scheduler_private.tg_upload_schedule_exceptions__validate()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_slot public.upload_schedules;
begin
  if tg_op = 'DELETE' then
    perform upload_scheduler_private.mark_due(array[old.user_id]);
    return old;
  end if;
  if new.id is null then
    perform upload_scheduler_private.refuse('upload_schedule_exceptions_id_not_null', '');
  end if;
  if tg_op = 'UPDATE' and (new.id <> old.id or new.user_id is distinct from old.user_id) then
    perform upload_scheduler_private.refuse('upload_schedule_exceptions_immutable',
      format('%s of exception %s', case when new.id <> old.id then 'id' else 'user' end, old.id));
  end if;
  if new.user_id is null then
    perform upload_scheduler_private.refuse('upload_schedule_exceptions_user_id_not_null', '');
  end if;
  if not exists (select 1 from public.users u where u.id = new.user_id)
     or new.user_id <> coalesce(upload_scheduler_private.acting_user_id(), new.user_id) then
    perform upload_scheduler_private.refuse('upload_schedule_exceptions_user_exists', new.user_id::text);
  end if;
  perform upload_scheduler_private.mark_due(array[new.user_id]);
  if new.local_date is null or not isfinite(new.local_date) then
    perform upload_scheduler_private.refuse('upload_schedule_exceptions_date_check', coalesce(new.local_date::text, 'NULL'));
  end if;
  if new.max_uploads is null then
    perform upload_scheduler_private.refuse('upload_schedule_exceptions_max_uploads_not_null', new.local_date::text);
  end if;
  if new.slot_id is not null then
    select s.* into v_slot from public.upload_schedules s
    where s.id = new.slot_id and s.user_id = coalesce(upload_scheduler_private.acting_user_id(), s.user_id);
    if not found then
      perform upload_scheduler_private.refuse('upload_schedule_exceptions_slot_exists',
        format('%s: no slot with id %s', new.local_date, new.slot_id));
    elsif v_slot.user_id <> new.user_id then
      perform upload_scheduler_private.refuse('upload_schedule_exceptions_slot_of_user',
        format('%s: slot %s belongs to user %s, not to user %s', new.local_date, new.slot_id, v_slot.user_id, new.user_id));
    elsif v_slot.day <> upload_scheduler_private.weekday_name(new.local_date::timestamp) then
      perform upload_scheduler_private.refuse('upload_schedule_exceptions_slot_weekday',
        format('%s: it is a %s, and slot %s (%s-%s) is on %s', new.local_date,
               upload_scheduler_private.weekday_name(new.local_date::timestamp), new.slot_id, v_slot.start_time, v_slot.end_time, v_slot.day));
    end if;
  end if;
  -- One row per user, date and slot is the unique constraint's to enforce (not checked here, so
  -- INSERT … ON CONFLICT (user_id, local_date, slot_id) DO UPDATE works as an upsert).
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_upload_schedule_exceptions__validate() is
  E'Trigger: an exception needs its user (UPNUS), a real local_date (UPARG), a quota (UPQTA), and a slot of the same user (UPNSL, UPEXC) on the exception''s weekday (UPEXC); ids and users never change (UPIMM). Marks the owner due (taking its due row''s lock).';

create or replace trigger tg_upload_schedule_exceptions__validate
  before insert or update or delete on public.upload_schedule_exceptions
  for each row execute function upload_scheduler_private.tg_upload_schedule_exceptions__validate();
