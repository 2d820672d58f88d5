-- Statement-level, so a tick that claims ten thousand videos pays for one check and one
-- counter update per statement, not per row.
create or replace function upload_scheduler_private.tg_videos__lifecycle()
returns trigger
language plpgsql
set search_path = pg_catalog
-- The claim turns hash and merge joins off for itself; this trigger runs inside it and needs
-- them to pair old and new rows in linear time.
set enable_hashjoin = on
set enable_mergejoin = on
as $$
declare
  v_bad record;
  v_slot_ids uuid[];
  v_dates date[];
  v_deltas int[];
begin
  -- The claim (upload_scheduler_private.claim_into_slots) moves only initiate -> pending and
  -- raises the counters in its own statement; it says so with this transaction-local flag.
  if current_setting('upload_scheduler.claim_counts_itself', true) = 'on' then
    return null;
  end if;

  if tg_op = 'INSERT' then
    select n.id, n.status into v_bad
    from new_rows n
    where n.status not in ('initiate', 'pending', 'uploading', 'success', 'failed');
    if found then
      raise exception 'Unknown video status % for video %.', quote_literal(v_bad.status), v_bad.id
        using errcode = 'UPSTS',
              hint = 'A video''s status is one of initiate, pending, uploading, success, failed; leave it out to queue the video as initiate.';
    end if;
  elsif tg_op = 'UPDATE' then
    -- No LIMIT: with one, the planner hopes to find a bad row early and nested-loops over both
    -- transition tables, quadratic in the rows changed when (as usual) there is none.
    -- SELECT INTO keeps the first row anyway.
    select o.id, o.status as old_status, n.status as new_status into v_bad
    from old_rows o
    join new_rows n on n.id = o.id
    where o.status <> n.status
      and (o.status, n.status) not in (
        ('initiate', 'pending'), ('pending', 'uploading'), ('uploading', 'success'), ('uploading', 'failed'),
        ('pending', 'initiate'), ('failed', 'initiate'));
    if found then
      raise exception 'Video % cannot move from % to %.', v_bad.id, quote_literal(v_bad.old_status), quote_literal(v_bad.new_status)
        using errcode = 'UPSTS',
              detail = 'The lifecycle is initiate -> pending -> uploading -> success | failed, plus pending -> initiate (stale recovery) and failed -> initiate (retry).',
              hint = case
                when v_bad.new_status not in ('initiate', 'pending', 'uploading', 'success', 'failed')
                  then 'A video''s status is one of initiate, pending, uploading, success, failed.'
                when v_bad.old_status = 'failed'
                  then 'To upload a failed video again, call upload_scheduler.retry_video(id).'
                else 'Use the scheduler''s functions (find_next_video_to_upload, start_upload, finish_upload, retry_video), which move videos along the lifecycle.'
              end;
    end if;
  end if;

  -- Keep slot_day_counts equal to the videos counted against each slot and date:
  -- -1 for each old row that counted, +1 for each new row that counts.
  -- (Transition tables exist only for their own event, hence one query per event.)
  if tg_op = 'INSERT' then
    select array_agg(n.slot_id), array_agg(n.slot_date), array_agg(1)
      into v_slot_ids, v_dates, v_deltas
    from new_rows n
    where n.slot_id is not null and n.slot_date is not null and n.status in ('pending', 'uploading', 'success');
  elsif tg_op = 'UPDATE' then
    select array_agg(d.slot_id), array_agg(d.slot_date), array_agg(d.delta)
      into v_slot_ids, v_dates, v_deltas
    from (
      select o.slot_id, o.slot_date, -1 as delta
      from old_rows o
      where o.slot_id is not null and o.slot_date is not null and o.status in ('pending', 'uploading', 'success')
      union all
      select n.slot_id, n.slot_date, 1
      from new_rows n
      where n.slot_id is not null and n.slot_date is not null and n.status in ('pending', 'uploading', 'success')
    ) d;
  else
    select array_agg(o.slot_id), array_agg(o.slot_date), array_agg(-1)
      into v_slot_ids, v_dates, v_deltas
    from old_rows o
    where o.slot_id is not null and o.slot_date is not null and o.status in ('pending', 'uploading', 'success');
  end if;

  if v_slot_ids is not null then
    insert into upload_scheduler.slot_day_counts as c (slot_id, local_date, used)
    select d.slot_id, d.local_date, sum(d.delta)::int
    from unnest(v_slot_ids, v_dates, v_deltas) as d (slot_id, local_date, delta)
    -- A slot deleted in this very statement (ON DELETE SET NULL) has no counter to keep.
    where exists (select 1 from public.upload_schedules s where s.id = d.slot_id)
    group by d.slot_id, d.local_date
    having sum(d.delta) <> 0
    -- A fixed order of row locks, so that concurrent statements cannot deadlock on counters.
    order by d.slot_id, d.local_date
    on conflict (slot_id, local_date) do update set used = c.used + excluded.used;
  end if;

  return null;
end;
$$;

comment on function upload_scheduler_private.tg_videos__lifecycle() is
  E'Trigger: rejects unknown statuses and moves off the lifecycle (UPSTS), and keeps upload_scheduler.slot_day_counts in step with the videos counted against each slot and date.';

drop trigger if exists tg_videos__lifecycle_insert on public.videos;
create trigger tg_videos__lifecycle_insert
  after insert on public.videos
  referencing new table as new_rows
  for each statement execute function upload_scheduler_private.tg_videos__lifecycle();

drop trigger if exists tg_videos__lifecycle_update on public.videos;
create trigger tg_videos__lifecycle_update
  after update on public.videos
  referencing old table as old_rows new table as new_rows
  for each statement execute function upload_scheduler_private.tg_videos__lifecycle();

drop trigger if exists tg_videos__lifecycle_delete on public.videos;
create trigger tg_videos__lifecycle_delete
  after delete on public.videos
  referencing old table as old_rows
  for each statement execute function upload_scheduler_private.tg_videos__lifecycle();
