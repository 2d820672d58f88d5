create or replace function upload_scheduler.reset_stale_pending_videos(
  p_older_than interval default '30 minutes',
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
            hint = 'Pass an interval such as ''30 minutes''.';
  end if;

  -- Giving the place back in the slot (the counter) is the statement trigger's work.
  update public.videos v
  set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null
  where v.status = 'pending'
    and (v.claimed_at < p_now - p_older_than or v.claimed_at is null);
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;

comment on function upload_scheduler.reset_stale_pending_videos(interval, timestamptz) is
  E'Puts videos that have been pending (claimed, never started) for longer than p_older_than back to initiate, giving their place in the slot back. Returns how many.';
