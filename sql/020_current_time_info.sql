create or replace function upload_scheduler.current_time_info(
  p_time_zone text default 'Asia/Kolkata',
  p_now timestamptz default now()
)
returns table (local_timestamp timestamp, local_date date, day text, local_time time, time_zone text)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_local timestamp;
begin
  v_local := upload_scheduler_private.check_instant(p_now, 'p_now')
             at time zone upload_scheduler_private.assert_known_time_zone(p_time_zone);
  return query
    select v_local, v_local::date, upload_scheduler_private.weekday_name(v_local), v_local::time, p_time_zone;
end;
$$;

comment on function upload_scheduler.current_time_info(text, timestamptz) is
  E'The clock as the scheduler sees it in a time zone: local timestamp, date, lowercase weekday and time. Pass p_now to ask about another instant, e.g. current_time_info(''Asia/Kolkata'', ''2026-11-30 09:00+05:30'').';
