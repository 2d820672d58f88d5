-- PostgreSQL also accepts abbreviations and POSIX offsets in AT TIME ZONE; the scheduler wants IANA names only.
create or replace function upload_scheduler_private.assert_known_time_zone(p_time_zone text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
set jit = off
as $$
begin
  -- A zone some user already has was checked when it was stored; pg_timezone_names reads the
  -- time zone files from disk on every call, which costs milliseconds.
  if exists (select 1 from public.users u where u.time_zone = p_time_zone) then
    return p_time_zone;
  end if;
  -- pg_timezone_names also lists the tz database's plumbing: 'localtime' and 'posixrules' (the
  -- server's own files), 'Factory', and the posix/ and right/ copies (right/ counts leap
  -- seconds). None of them is a place a user lives in.
  if p_time_zone is null
     or p_time_zone in ('localtime', 'posixrules', 'Factory')
     or p_time_zone ~ '^(posix|right)/'
     or not exists (select 1 from pg_catalog.pg_timezone_names where name = p_time_zone) then
    raise exception 'Unknown time zone %.', coalesce(quote_literal(p_time_zone), 'NULL')
      using errcode = 'UPTZN',
            hint = 'Use an IANA time zone name such as ''Asia/Kolkata'', ''Europe/London'' or ''America/New_York'' (select name from pg_timezone_names lists them).';
  end if;
  return p_time_zone;
end;
$$;

comment on function upload_scheduler_private.assert_known_time_zone(text) is
  E'Returns the time zone name when it is a known IANA name (pg_timezone_names, without localtime, posixrules, Factory, posix/… and right/…); raises UPTZN otherwise.';
