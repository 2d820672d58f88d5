create or replace function upload_scheduler.fail_interrupted_uploads(
  p_older_than interval default '35 minutes',
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
  if p_older_than is null or p_older_than < interval '0' then
    raise exception 'p_older_than % is not a positive interval.', coalesce(p_older_than::text, 'NULL')
      using errcode = 'UPARG',
            hint = 'Pass an interval longer than the upload timeout, such as ''35 minutes''.';
  end if;

  update public.videos v
  set status = 'failed',
      finished_at = p_now,
      last_error = format('upload interrupted; outcome unknown (started %s, no result after %s)', v.started_at, p_older_than)
  where v.status = 'uploading'
    and v.started_at < p_now - p_older_than;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;

comment on function upload_scheduler.fail_interrupted_uploads(interval, timestamptz) is
  E'Marks videos uploading for longer than p_older_than (their worker died) as failed with "upload interrupted; outcome unknown"; the retry policy then decides. Returns how many.';
