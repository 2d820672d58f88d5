-- Validates a user row. A user's id never changes: videos, slots and their history point at it.
create or replace function upload_scheduler_private.tg_users__validate()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
begin
  if new.id is null then
    raise exception 'users.id is NULL.'
      using errcode = 'UPARG',
            hint = 'Leave id out to get a generated one, or give a uuid.';
  end if;
  if tg_op = 'UPDATE' and new.id <> old.id then
    raise exception 'The id of user % cannot change (to %).', old.id, new.id
      using errcode = 'UPIMM',
            detail = 'Videos, slots and the upload history refer to a user by its id.',
            hint = 'Create a new user instead, and move what you need with INSERT … SELECT.';
  end if;
  if new.created_at is null then
    raise exception 'users.created_at is NULL for user %.', new.id
      using errcode = 'UPARG',
            hint = 'Leave created_at out for now().';
  end if;
  if length(new.pause_reason) > 500 then
    raise exception 'pause_reason of user % is % characters long.', new.id, length(new.pause_reason)
      using errcode = 'UPARG',
            hint = 'Say why in at most 500 characters.';
  end if;
  if new.uploads_paused_until = '-infinity' then
    raise exception 'uploads_paused_until of user % is -infinity.', new.id
      using errcode = 'UPARG',
            hint = 'Pause until an instant (or ''infinity'', until resumed), or set NULL to resume.';
  end if;
  if tg_op = 'INSERT' or new.time_zone is distinct from old.time_zone then
    perform upload_scheduler_private.assert_known_time_zone(new.time_zone);
  end if;
  -- A new zone or pause moves the user's next claim: the next tick looks at the user.
  if tg_op = 'UPDATE' and (new.time_zone, new.uploads_paused_until) is distinct from (old.time_zone, old.uploads_paused_until) then
    perform upload_scheduler_private.mark_due(array[new.id]);
  end if;
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_users__validate() is
  E'Trigger: refuses a NULL or changed users.id (UPARG, UPIMM), a time_zone that is not a known IANA name (UPTZN) and a bad pause (UPARG); a changed zone or pause marks the user due.';

drop trigger if exists tg_users__validate on public.users;
create trigger tg_users__validate
  before insert or update on public.users
  for each row execute function upload_scheduler_private.tg_users__validate();

-- Every user has a due row (its lock serialises the user's claims and schedule changes); a
-- deleted user leaves nothing behind for a user created later with the same id.
create or replace function upload_scheduler_private.tg_users__due()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
begin
  if tg_op = 'INSERT' then
    insert into upload_scheduler.user_due (user_id, due_at)
    select n.id, 'infinity' from new_rows n
    on conflict (user_id) do nothing;
  else
    delete from upload_scheduler.retired_slot_uses r using old_rows o where r.user_id = o.id;
    delete from upload_scheduler.due_marks m using old_rows o where m.user_id = o.id;
  end if;
  return null;
end;
$$;

comment on function upload_scheduler_private.tg_users__due() is
  E'Trigger: gives new users their row in upload_scheduler.user_due; forgets the retired slot uses and due marks of deleted users.';

drop trigger if exists tg_users__due_insert on public.users;
create trigger tg_users__due_insert
  after insert on public.users
  referencing new table as new_rows
  for each statement execute function upload_scheduler_private.tg_users__due();

drop trigger if exists tg_users__due_delete on public.users;
create trigger tg_users__due_delete
  after delete on public.users
  referencing old table as old_rows
  for each statement execute function upload_scheduler_private.tg_users__due();
