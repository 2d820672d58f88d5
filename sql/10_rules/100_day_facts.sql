-- The facts of a slot on a local date, read from the tables in one place: its quota that day (a
-- date exception of the slot, else of the user's whole day, else max_uploads) and its use (the
-- user's unreleased places that day whose window shares a second with the slot's window), and
-- the last claim into that window (pacing; given-back claims count: they were claims).
--
-- Set-based: one row per element of the arrays (one slot occurrence each), in their order, one
-- index probe of the exceptions and one of the places per row, whatever the size of the tables
-- (an element without a slot, NULL, gets a row of NULLs). p_extra adds
-- simulated places (the forecast plays claims that have not happened): a JSON array of
-- {"user_id", "local_date", "start_time", "end_time", "taken_at"}.
create or replace function upload_scheduler_private.day_facts(
  p_user_ids uuid[],
  p_dates date[],
  p_slot_ids uuid[],
  p_starts time[],
  p_ends time[],
  p_max_uploads integer[],
  p_extra jsonb default null
)
returns table (
  n bigint,
  user_id uuid,
  slot_id uuid,
  quota integer,
  exception_max integer,
  exception_note text,
  used integer,
  last_claim_at timestamptz
)
language plpgsql
stable
rows 10
set search_path = pg_catalog, pg_temp
-- The ledger and the exceptions are small in a young deployment, and a plan made when their
-- statistics say so (after a VACUUM of a quiet ledger, say) scans each whole per slot occurrence:
-- quadratic in the users of a tick (10,000 users: 6 s instead of 0.6). Each lookup is an index
-- probe whatever their size. test/tick.linear-plans.test.ts fails without this (its ledger is
-- vacuumed empty before the bulk rounds). This function calls nothing that plans statements.
set enable_seqscan = off
as $$
begin
  return query
  select x.n, x.user_id, x.slot_id, coalesce(e.max_uploads, x.max_uploads), e.max_uploads, e.note,
         case when x.slot_id is not null then coalesce(p.used, 0) + coalesce(s.used, 0) end,
         greatest(p.last_claim_at, s.last_claim_at)
  from unnest(p_user_ids, p_dates, p_slot_ids, p_starts, p_ends, p_max_uploads)
         with ordinality as x (user_id, local_date, slot_id, start_time, end_time, max_uploads, n)
  left join lateral (
    select e.max_uploads, e.note
    from public.upload_schedule_exceptions e
    where x.slot_id is not null
      and e.user_id = x.user_id and e.local_date = x.local_date and (e.slot_id = x.slot_id or e.slot_id is null)
    order by e.slot_id nulls last
    limit 1
  ) e on true
  left join lateral (
    select count(*) filter (where p.released_at is null)::int as used, max(p.taken_at) as last_claim_at
    from upload_scheduler.places p
    where x.slot_id is not null and p.user_id = x.user_id and p.local_date = x.local_date
      and p.start_time <= x.end_time and x.start_time <= p.end_time
  ) p on true
  left join lateral (
    select count(*)::int as used, max((j->>'taken_at')::timestamptz) as last_claim_at
    from jsonb_array_elements(p_extra) j
    where (j->>'user_id')::uuid = x.user_id and (j->>'local_date')::date = x.local_date
      and (j->>'start_time')::time <= x.end_time and x.start_time <= (j->>'end_time')::time
  ) s on p_extra is not null
  order by x.n;
end;
$$;

comment on function upload_scheduler_private.day_facts(uuid[], date[], uuid[], time[], time[], integer[], jsonb) is
  E'Internal: for each slot occurrence (user, local date, slot id, window, max_uploads) given as parallel arrays, its quota that day (date exceptions applied), its use (unreleased places of the user that day overlapping its window) and its last claim; p_extra adds simulated places (the forecast).';
