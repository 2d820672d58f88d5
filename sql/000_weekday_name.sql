-- The lowercase English weekday of a local timestamp, as upload_schedules.day stores it.
create or replace function upload_scheduler_private.weekday_name(p_local timestamp)
returns text
language sql
immutable
parallel safe
set search_path = pg_catalog
as $$
  select (array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])
         [extract(isodow from p_local)::int]
$$;

comment on function upload_scheduler_private.weekday_name(timestamp) is
  E'The lowercase English weekday (monday … sunday) of a local timestamp.';
