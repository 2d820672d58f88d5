create or replace function upload_scheduler_private.tg_users__validate()
returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
  perform upload_scheduler_private.assert_known_time_zone(new.time_zone);
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_users__validate() is
  E'Trigger: rejects a users.time_zone that is not a known IANA name (UPTZN).';

drop trigger if exists tg_users__validate on public.users;
create trigger tg_users__validate
  before insert or update of time_zone on public.users
  for each row execute function upload_scheduler_private.tg_users__validate();
