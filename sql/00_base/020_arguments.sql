-- Checks shared by every function of the API: an instant, an interval, the session's scope.

create or replace function upload_scheduler_private.check_instant(p_value timestamptz, p_name text)
returns timestamptz
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_value is null or not isfinite(p_value) then
    raise exception '% is %.', p_name, coalesce(p_value::text, 'NULL')
      using errcode = 'UPARG',
            hint = format('Pass a real instant such as ''2026-11-30 09:00+05:30'', or leave %s out for the current time.', p_name);
  end if;
  -- Far enough for any schedule, near enough that the local date of every zone (UTC-12 to
  -- UTC+14) stays within the years 1900 to 2199 that dates are kept in.
  if p_value < timestamptz '1900-01-02 00:00Z' or p_value >= timestamptz '2199-12-31 00:00Z' then
    raise exception '% % is outside the instants the scheduler handles (1900-01-02 to 2199-12-30 UTC).', p_name, p_value
      using errcode = 'UPARG',
            detail = 'Every local date, in every time zone, must lie within the years 1900 to 2199.',
            hint = 'Pass an instant such as ''2026-11-30 09:00+05:30''.';
  end if;
  return p_value;
end;
$$;

comment on function upload_scheduler_private.check_instant(timestamptz, text) is
  E'Returns p_value; raises UPARG (naming p_name) when it is NULL, infinite, or outside 1900-01-02 to 2199-12-30 UTC (so every local date lies within 1900 to 2199).';

create or replace function upload_scheduler_private.check_interval(
  p_value interval,
  p_name text,
  p_example text,
  p_least interval default null
)
returns interval
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_value is null or p_value <= interval '0' or p_value > interval '100 years' then
    raise exception '% % is not a positive interval of at most 100 years.', p_name, coalesce(quote_literal(p_value::text), 'NULL')
      using errcode = 'UPARG',
            hint = format('Pass an interval such as %L.', p_example);
  end if;
  if p_value < p_least then
    raise exception '% % is shorter than %.', p_name, quote_literal(p_value::text), p_least
      using errcode = 'UPARG',
            detail = 'Shorter than that, a sweep would end work that is still going on.',
            hint = format('Pass an interval such as %L.', p_example);
  end if;
  return p_value;
end;
$$;

comment on function upload_scheduler_private.check_interval(interval, text, text, interval) is
  E'Returns p_value; raises UPARG (naming p_name, suggesting p_example) unless 0 < p_value <= 100 years and p_value >= p_least (when given).';

create or replace function upload_scheduler_private.check_max_attempts(p_value integer)
returns integer
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_value is null or p_value < 1 then
    raise exception 'p_max_attempts % is less than 1.', coalesce(p_value::text, 'NULL')
      using errcode = 'UPARG',
            hint = 'Pass MAX_ATTEMPTS, the number of upload attempts a video may have in all, e.g. 3.';
  end if;
  return p_value;
end;
$$;

comment on function upload_scheduler_private.check_max_attempts(integer) is
  E'Returns p_value; raises UPARG unless it is a number of attempts of at least 1 (MAX_ATTEMPTS).';

-- The user an application session acts for. Sessions whose login role is a member of
-- upload_scheduler_app (and not a superuser, nor a member of upload_scheduler_worker) act for
-- the one user named by `set upload_scheduler.user_id = '…'`; every other session acts for all.
-- session_user is the role that logged in: SET ROLE cannot change it.
create or replace function upload_scheduler_private.acting_user_id()
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_app oid := to_regrole('upload_scheduler_app');
  v_worker oid := to_regrole('upload_scheduler_worker');
  v_setting text;
begin
  if v_app is null
     or (select r.rolsuper from pg_roles r where r.rolname = session_user)
     or not pg_has_role(session_user, v_app, 'MEMBER')
     or (v_worker is not null and pg_has_role(session_user, v_worker, 'MEMBER')) then
    return null;
  end if;
  v_setting := nullif(current_setting('upload_scheduler.user_id', true), '');
  begin
    if v_setting is not null then
      return v_setting::uuid;
    end if;
  exception when invalid_text_representation then
    v_setting := quote_literal(v_setting);
  end;
  raise exception 'This session acts for one user, and upload_scheduler.user_id is %.', coalesce(v_setting, 'not set')
    using errcode = 'UPTEN',
          detail = format('Role %s is a member of upload_scheduler_app.', session_user),
          hint = 'Set the user first: set upload_scheduler.user_id = ''<users.id>'' (or set local inside a transaction).';
end;
$$;

comment on function upload_scheduler_private.acting_user_id() is
  E'NULL when the session may act for every user; the user id of upload_scheduler.user_id when its login role is an upload_scheduler_app (raises UPTEN when that setting is missing or not a uuid).';

-- The user's time zone, when the user exists and the session may act for it; UPNUS otherwise
-- (a user of another tenant is reported as missing, not as forbidden).
create or replace function upload_scheduler_private.user_time_zone(p_user_id uuid)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_scope uuid := upload_scheduler_private.acting_user_id();
  v_time_zone text;
begin
  if v_scope is null or v_scope = p_user_id then
    select u.time_zone into v_time_zone from public.users u where u.id = p_user_id;
  end if;
  if v_time_zone is null then
    raise exception 'No user with id %.', coalesce(p_user_id::text, 'NULL')
      using errcode = 'UPNUS',
            hint = 'Pass the id of a row of public.users (select id, time_zone from users).';
  end if;
  return v_time_zone;
end;
$$;

comment on function upload_scheduler_private.user_time_zone(uuid) is
  E'The time zone of a user the session may act for; raises UPNUS when there is no such user (or it belongs to another tenant).';

-- The owner of a slot the session may act for; UPNSL otherwise.
create or replace function upload_scheduler_private.slot_owner(p_slot_id uuid)
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_scope uuid := upload_scheduler_private.acting_user_id();
  v_user_id uuid;
begin
  select s.user_id into v_user_id from public.upload_schedules s where s.id = p_slot_id;
  if v_user_id is null or v_user_id <> coalesce(v_scope, v_user_id) then
    raise exception 'No slot with id %.', coalesce(p_slot_id::text, 'NULL')
      using errcode = 'UPNSL',
            hint = 'Pass the id of a row of public.upload_schedules (select id, day, start_time, end_time from upload_schedules).';
  end if;
  return v_user_id;
end;
$$;

comment on function upload_scheduler_private.slot_owner(uuid) is
  E'The user of a slot the session may act for; raises UPNSL when there is no such slot (or it belongs to another tenant).';

-- The owner of a video the session may act for; UPNVD otherwise.
create or replace function upload_scheduler_private.video_owner(p_video_id uuid)
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_scope uuid := upload_scheduler_private.acting_user_id();
  v_user_id uuid;
begin
  select v.user_id into v_user_id from public.videos v where v.id = p_video_id;
  if v_user_id is null or v_user_id <> coalesce(v_scope, v_user_id) then
    raise exception 'No video with id %.', coalesce(p_video_id::text, 'NULL')
      using errcode = 'UPNVD',
            hint = 'Pass the id of a row of public.videos (select id, title, status from videos).';
  end if;
  return v_user_id;
end;
$$;

comment on function upload_scheduler_private.video_owner(uuid) is
  E'The user of a video the session may act for; raises UPNVD when there is no such video (or it belongs to another tenant).';

-- The user of an application session, for row-level security policies: the same value the
-- policies compare (a NULL when not set), with the scheduler's error for text that is no uuid.
create or replace function upload_scheduler_private.app_user_id()
returns uuid
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_setting text := nullif(current_setting('upload_scheduler.user_id', true), '');
begin
  return v_setting::uuid;
exception when invalid_text_representation then
  raise exception 'upload_scheduler.user_id % is not a user id.', quote_literal(v_setting)
    using errcode = 'UPTEN',
          hint = 'Set it to the id of a row of public.users: set upload_scheduler.user_id = ''<users.id>''.';
end;
$$;

comment on function upload_scheduler_private.app_user_id() is
  E'The uuid in the setting upload_scheduler.user_id (NULL when unset); raises UPTEN when it is not a uuid. Row-level security policies compare user ids with it.';

-- The horizon of a forecast: positive, at most a year.
create or replace function upload_scheduler_private.check_horizon(p_horizon interval)
returns interval
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_horizon is null or p_horizon <= interval '0' or p_horizon > interval '366 days' then
    raise exception 'p_horizon % is not a positive interval of at most a year.', coalesce(quote_literal(p_horizon::text), 'NULL')
      using errcode = 'UPARG',
            hint = 'Pass how far ahead to look, e.g. ''7 days''.';
  end if;
  return p_horizon;
end;
$$;

comment on function upload_scheduler_private.check_horizon(interval) is
  E'Returns p_horizon; raises UPARG unless 0 < p_horizon <= 366 days.';
