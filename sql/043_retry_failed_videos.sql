create or replace function upload_scheduler.retry_failed_videos(
  p_cool_down interval default '30 minutes',
  p_max_attempts integer default 3,
  p_now timestamptz default now()
)
returns integer
language plpgsql
volatile
set search_path = pg_catalog
as $$
declare
  v_count integer;
begin
  if p_cool_down is null or p_cool_down < interval '0' then
    raise exception 'p_cool_down % is not a positive interval.', coalesce(p_cool_down::text, 'NULL')
      using errcode = 'UPARG',
            hint = 'Pass an interval such as ''30 minutes''.';
  end if;
  if p_max_attempts is null or p_max_attempts < 1 then
    raise exception 'p_max_attempts % is less than 1.', coalesce(p_max_attempts::text, 'NULL')
      using errcode = 'UPARG',
            hint = 'Pass the number of upload attempts a video may have in all, e.g. 3.';
  end if;

  update public.videos v
  set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null, started_at = null, finished_at = null
  where v.status = 'failed'
    and v.attempts < p_max_attempts
    and v.finished_at <= p_now - p_cool_down;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;

comment on function upload_scheduler.retry_failed_videos(interval, integer, timestamptz) is
  E'Puts failed videos back to initiate once p_cool_down has passed since they failed, while they have had fewer than p_max_attempts attempts; last_error is kept. Returns how many.';
