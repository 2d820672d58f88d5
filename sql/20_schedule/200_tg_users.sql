-- A user row: its id never changes (videos, slots and their history point at it), its time zone
-- is a known IANA name, and a change of zone or pause marks the user due. The other row rules
-- are CHECK constraints of the table (migrations), mapped to messages in rule_messages.
create or replace function upload_scheduler_private.tg_users__validate()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.id is null then
    perform upload_scheduler_private.refuse('users_id_not_null', '');
  end if;
  if tg_op = 'UPDATE' and new.id <> old.id then
    perform upload_scheduler_private.refuse('users_id_immutable', format('%s (to %s)', old.id, new.id));
  end if;
  if new.created_at is null then
    perform upload_scheduler_private.refuse('users_created_at_not_null', new.id::text);
  end if;
  if tg_op = 'INSERT' or new.time_zone is distinct from old.time_zone then
    perform upload_scheduler_private.assert_known_time_zone(new.time_zone);
  end if;
  -- A new zone or pause moves the user's next claim: the next tick looks at the user.
  if tg_op = 'UPDATE' and (new.time_zone, new.uploads_paused_until, new.held_until)
                          is distinct from (old.time_zone, old.uploads_paused_until, old.held_until) then
    perform upload_scheduler_private.mark_due(array[new.id]);
  end if;
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_users__validate() is
  E'Trigger: refuses a NULL or changed users.id (UPARG, UPIMM) and a time_zone that is not a known IANA name (UPTZN); a changed zone or pause marks the user due.';

create or replace trigger tg_users__validate
  before insert or update on public.users
  for each row execute function upload_scheduler_private.tg_users__validate();

-- Every user has a due row (its lock serialises the user's claims and schedule changes); a
-- deleted user leaves nothing behind: its places and marks go (its due row by its foreign key).
create or replace function upload_scheduler_private.tg_users__bookkeeping()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if tg_op = 'INSERT' then
    insert into upload_scheduler.user_due (user_id, due_at)
    select n.id, 'infinity' from new_rows n
    on conflict (user_id) do nothing;
  else
    delete from upload_scheduler.places p using old_rows o where p.user_id = o.id;
    delete from upload_scheduler.due_marks m using old_rows o where m.user_id = o.id;
  end if;
  return null;
end;
$$;

comment on function upload_scheduler_private.tg_users__bookkeeping() is
  E'Trigger: gives new users their row in upload_scheduler.user_due; forgets the places and due marks of deleted users.';

create or replace trigger tg_users__bookkeeping_insert
  after insert on public.users
  referencing new table as new_rows
  for each statement execute function upload_scheduler_private.tg_users__bookkeeping();

create or replace trigger tg_users__bookkeeping_delete
  after delete on public.users
  referencing old table as old_rows
  for each statement execute function upload_scheduler_private.tg_users__bookkeeping();
