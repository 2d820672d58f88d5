-- Validates a date exception. Like a slot change, it marks the owner due (taking its due row's
-- lock), so a claim sees the quota before or after it, never half of a change.
create or replace function upload_scheduler_private.tg_upload_schedule_exceptions__validate()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_slot_user uuid;
begin
  if tg_op = 'DELETE' then
    perform upload_scheduler_private.mark_due(array[old.user_id]);
    return old;
  end if;
  if new.id is null then
    raise exception 'upload_schedule_exceptions.id is NULL.'
      using errcode = 'UPARG',
            hint = 'Leave id out to get a generated one, or give a uuid.';
  end if;
  if tg_op = 'UPDATE' and (new.id <> old.id or new.user_id is distinct from old.user_id) then
    raise exception 'The % of exception % cannot change.', case when new.id <> old.id then 'id' else 'user' end, old.id
      using errcode = 'UPIMM',
            hint = 'Delete the exception and insert another one.';
  end if;
  if new.user_id is null then
    raise exception 'An exception needs a user: user_id is NULL.'
      using errcode = 'UPNUS',
            hint = 'Give the id of a row of public.users.';
  end if;
  if not exists (select 1 from public.users u where u.id = new.user_id)
     or new.user_id <> coalesce(upload_scheduler_private.acting_user_id(), new.user_id) then
    raise exception 'No user with id %.', new.user_id
      using errcode = 'UPNUS',
            hint = 'Give the id of a row of public.users.';
  end if;
  perform upload_scheduler_private.mark_due(array[new.user_id]);
  if new.local_date is null or not isfinite(new.local_date) then
    raise exception 'An exception needs a real local_date, not %.', coalesce(new.local_date::text, 'NULL')
      using errcode = 'UPARG',
            hint = 'Give the date in the user''s time zone, e.g. ''2026-12-25''.';
  end if;
  if new.max_uploads is null or new.max_uploads < 0 then
    raise exception 'Exception for %: max_uploads % is %.', new.local_date, coalesce(new.max_uploads::text, 'NULL'),
        case when new.max_uploads is null then 'missing' else 'negative' end
      using errcode = 'UPQTA',
            hint = 'Use 0 for no uploads that day, or the number of uploads allowed.';
  end if;
  if new.slot_id is not null then
    select s.user_id into v_slot_user from public.upload_schedules s
    where s.id = new.slot_id and s.user_id = coalesce(upload_scheduler_private.acting_user_id(), s.user_id);
    if v_slot_user is null then
      raise exception 'Exception for %: no slot with id %.', new.local_date, new.slot_id
        using errcode = 'UPNSL',
              hint = 'Give one of the user''s slots, or slot_id NULL for every slot of the user that day.';
    elsif v_slot_user <> new.user_id then
      raise exception 'Exception for %: slot % belongs to user %, not to user %.', new.local_date, new.slot_id, v_slot_user, new.user_id
        using errcode = 'UPEXC',
              hint = 'Give one of the user''s own slots, or slot_id NULL for every slot of the user that day.';
    end if;
  end if;
  -- One row per user, date and slot is the unique constraint's to enforce (not checked here, so
  -- INSERT … ON CONFLICT (user_id, local_date, slot_id) DO UPDATE works as an upsert).
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_upload_schedule_exceptions__validate() is
  E'Trigger: an exception needs its user (UPNUS), a real local_date (UPARG), max_uploads >= 0 (UPQTA), a slot of the same user (UPNSL, UPEXC); ids and users never change (UPIMM). Marks the owner due (taking its due row''s lock).';

drop trigger if exists tg_upload_schedule_exceptions__validate on public.upload_schedule_exceptions;
create trigger tg_upload_schedule_exceptions__validate
  before insert or update or delete on public.upload_schedule_exceptions
  for each row execute function upload_scheduler_private.tg_upload_schedule_exceptions__validate();
