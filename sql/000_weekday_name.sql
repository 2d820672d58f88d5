-- The lowercase English weekday of a local timestamp, as upload_schedules.day stores it.
-- plpgsql, not SQL: a SQL function with a pinned search_path is never inlined, and is parsed
-- and planned again at every execution of a cached plan that calls it (0.3 ms a claim);
-- plpgsql compiles once per session.
create or replace function upload_scheduler_private.weekday_name(p_local timestamp)
returns text
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
set jit = off
as $$
begin
  return (array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])
         [extract(isodow from p_local)::int];
end;
$$;

comment on function upload_scheduler_private.weekday_name(timestamp) is
  E'The lowercase English weekday (monday … sunday) of a local timestamp.';
