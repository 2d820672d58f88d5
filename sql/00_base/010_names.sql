-- Weekdays and time zones, as the scheduler reads them.

-- The lowercase English weekday of a local timestamp, as upload_schedules.day stores it.
-- plpgsql, not SQL: a SQL function with a pinned search_path is never inlined, and is parsed
-- and planned again at every execution of a cached plan that calls it; plpgsql compiles once
-- per session.
create or replace function upload_scheduler_private.weekday_name(p_local timestamp)
returns text
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
  return (array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])
         [extract(isodow from p_local)::int];
end;
$$;

comment on function upload_scheduler_private.weekday_name(timestamp) is
  E'The lowercase English weekday (monday … sunday) of a local timestamp.';

-- Accepts a weekday in any case (and with stray spaces) and returns it lowercase; refuses
-- anything else with the rule of upload_schedules.day.
create or replace function upload_scheduler_private.normalize_weekday(p_day text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_day text := lower(btrim(p_day));
begin
  if v_day is null or v_day not in ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday') then
    perform upload_scheduler_private.refuse('upload_schedules_day_check', coalesce(quote_literal(p_day), 'NULL'));
  end if;
  return v_day;
end;
$$;

comment on function upload_scheduler_private.normalize_weekday(text) is
  E'Returns the weekday lowercase (''Monday'' -> ''monday''); raises UPDAY for anything that is not an English weekday.';

-- PostgreSQL also accepts abbreviations and POSIX offsets in AT TIME ZONE; the scheduler wants IANA names only.
-- pg_timezone_names also lists the tz database's plumbing: 'localtime' and 'posixrules' (the
-- server's own files), 'Factory', and the posix/ and right/ copies (right/ counts leap seconds).
-- None of them is a place a user lives in.
create or replace function upload_scheduler_private.is_place_time_zone(p_name text)
returns boolean
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
return p_name is not null
   and p_name not in ('localtime', 'posixrules', 'Factory')
   and p_name !~ '^(posix|right)/';

comment on function upload_scheduler_private.is_place_time_zone(text) is
  E'Whether a name of pg_timezone_names is a place''s zone a user may have: not localtime, posixrules, Factory, posix/… or right/….';

-- The names, once per apply (upload_scheduler.time_zone_names, migration 000019): checking a
-- zone is then an index probe, not a read of the tz database's files.
insert into upload_scheduler.time_zone_names (name)
select n.name from pg_catalog.pg_timezone_names n where upload_scheduler_private.is_place_time_zone(n.name)
on conflict do nothing;

create or replace function upload_scheduler_private.assert_known_time_zone(p_time_zone text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  -- The names read at the last apply; else pg_timezone_names itself, which reads the time zone
  -- files from disk on every call (milliseconds): a zone the server's tz database gained since,
  -- or a name that is not a zone (the error).
  if exists (select 1 from upload_scheduler.time_zone_names z where z.name = p_time_zone) then
    return p_time_zone;
  end if;
  if not upload_scheduler_private.is_place_time_zone(p_time_zone)
     or not exists (select 1 from pg_catalog.pg_timezone_names where name = p_time_zone) then
    raise exception 'Unknown time zone %.', coalesce(quote_literal(p_time_zone), 'NULL')
      using errcode = 'UPTZN',
            hint = 'Use an IANA time zone name such as ''Asia/Kolkata'', ''Europe/London'' or ''America/New_York'' (select name from pg_timezone_names lists them).';
  end if;
  return p_time_zone;
end;
$$;

comment on function upload_scheduler_private.assert_known_time_zone(text) is
  E'Returns the time zone name when it is a known IANA name (upload_scheduler.time_zone_names, else pg_timezone_names, without localtime, posixrules, Factory, posix/… and right/…); raises UPTZN otherwise.';

-- The zone's UTC offset at an instant.
create or replace function upload_scheduler_private.utc_offset(p_time_zone text, p_at timestamptz)
returns interval
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
  return (p_at at time zone p_time_zone) - (p_at at time zone 'UTC');
end;
$$;

comment on function upload_scheduler_private.utc_offset(text, timestamptz) is
  E'The UTC offset of time zone p_time_zone at instant p_at (e.g. 05:30:00 for Asia/Kolkata).';

-- The earliest instant at which the local clock of a zone can show a local time. On a day the
-- clocks go back, a local time happens twice and PostgreSQL's AT TIME ZONE picks the later one
-- (America/Havana's midnight of 1 November 2026 is 04:00 and 05:00 UTC); on a day they go
-- forward, a local time may not exist. Taking the smaller answer of the offsets around it is
-- never late: what a bound on "the next claim" needs.
create or replace function upload_scheduler_private.earliest_instant(p_time_zone text, p_local timestamp)
returns timestamptz
language plpgsql
stable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
  v_guess timestamptz := p_local at time zone p_time_zone;
  v_before timestamptz := v_guess - interval '1 day';
  v_after timestamptz := v_guess + interval '1 day';
begin
  -- The offsets a day either side written out (utc_offset's expression), not called: the rule
  -- asks this once per user without room, and each call of a function costs more than the
  -- arithmetic (half of this function's time).
  return least(
    v_guess,
    (p_local - ((v_before at time zone p_time_zone) - (v_before at time zone 'UTC'))) at time zone 'UTC',
    (p_local - ((v_after at time zone p_time_zone) - (v_after at time zone 'UTC'))) at time zone 'UTC');
end;
$$;

comment on function upload_scheduler_private.earliest_instant(text, timestamp) is
  E'The earliest instant at which the clock of p_time_zone can show p_local (the first of two on a day the clocks go back; never later than the real one on a day they go forward).';

-- The instant a local time begins in a zone, for counting from it (a calendar window's start):
-- the first instant whose local time is p_local (the first of two on a day the clocks go back),
-- or, when the clocks skip p_local, the first instant after the gap. Unlike earliest_instant,
-- it is never early: an earlier start would count claims of the day before.
create or replace function upload_scheduler_private.local_start(p_time_zone text, p_local timestamp)
returns timestamptz
language plpgsql
stable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
  v_guess timestamptz := p_local at time zone p_time_zone;
begin
  -- The candidates (one per offset around p_local) that show p_local or later; the first of them.
  return (
    select min(c.at)
    from (values (v_guess),
                 ((p_local - upload_scheduler_private.utc_offset(p_time_zone, v_guess - interval '1 day')) at time zone 'UTC'),
                 ((p_local - upload_scheduler_private.utc_offset(p_time_zone, v_guess + interval '1 day')) at time zone 'UTC')) as c (at)
    where (c.at at time zone p_time_zone) >= p_local);
end;
$$;

comment on function upload_scheduler_private.local_start(text, timestamp) is
  E'The first instant at which the clock of p_time_zone shows p_local (the first of two when the clocks go back), or the end of the gap when they skip it: where a calendar window that starts at p_local starts.';

-- The first instant after p_after (within two days) at which the clock of a zone goes back (its
-- UTC offset drops), or NULL. From then, local times already lived through that day happen
-- again, and a slot that closed an hour ago opens again: a bound on "the next claim" computed
-- from local times (a slot's end, the next slot's start) is never later than this instant.
create or replace function upload_scheduler_private.clock_goes_back(p_time_zone text, p_after timestamptz)
returns timestamptz
language plpgsql
stable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
  v_offset interval := upload_scheduler_private.utc_offset(p_time_zone, p_after);
  -- Whole seconds since the epoch (tzdata's changes fall on whole seconds): the offset at v_lo
  -- is v_offset, at v_hi it is smaller.
  v_lo bigint := floor(extract(epoch from p_after));
  v_hi bigint := v_lo + 2 * 86400;
  v_mid bigint;
begin
  if upload_scheduler_private.utc_offset(p_time_zone, to_timestamp(v_hi)) >= v_offset then
    return null;
  end if;
  while v_hi - v_lo > 1 loop
    v_mid := (v_lo + v_hi) / 2;
    if upload_scheduler_private.utc_offset(p_time_zone, to_timestamp(v_mid)) < v_offset then
      v_hi := v_mid;
    else
      v_lo := v_mid;
    end if;
  end loop;
  return to_timestamp(v_hi);
end;
$$;

comment on function upload_scheduler_private.clock_goes_back(text, timestamptz) is
  E'The first instant in the two days after p_after at which the clock of p_time_zone goes back (local times repeat from then), or NULL when it does not.';

