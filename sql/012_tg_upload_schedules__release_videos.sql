-- What ON DELETE SET NULL did for videos.slot_id and ON DELETE CASCADE for the slots' counters,
-- without a foreign key check on every claim.
create or replace function upload_scheduler_private.tg_upload_schedules__release_videos()
returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
  delete from upload_scheduler.slot_day_counts c
  using old_rows o
  where c.slot_id = o.id;
  update public.videos v
  set slot_id = null
  from old_rows o
  where v.slot_id = o.id;
  return null;
end;
$$;

comment on function upload_scheduler_private.tg_upload_schedules__release_videos() is
  E'Trigger: when slots are deleted, deletes their counters and clears videos.slot_id of the videos claimed into them.';

drop trigger if exists tg_upload_schedules__release_videos on public.upload_schedules;
create trigger tg_upload_schedules__release_videos
  after delete on public.upload_schedules
  referencing old table as old_rows
  for each statement execute function upload_scheduler_private.tg_upload_schedules__release_videos();
