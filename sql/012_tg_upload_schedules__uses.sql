-- What happens to a slot's uses of each day when the slot is deleted, moved or created.
--
-- Deleted: its claims that never started go back to the queue (their places with them); the
--   uses that remain (uploading, uploaded, kept by deleted videos) are written to
--   upload_scheduler.retired_slot_uses, and its videos forget the slot.
-- Moved to another weekday or time, or switched off: its old window's uses are retired the same
--   way; the slot keeps its own counters too (an edit never gives a slot a fresh quota).
-- Created, switched on or moved: it inherits, per local date, the retired uses of the same
--   user's slots whose window overlapped its own on that weekday (of other slots, or of a
--   deleted slot whatever its id: a slot re-created with its old id inherits its old uses).
-- So deleting a slot and inserting it again (or an overlapping one) never gives it a fresh quota.
create or replace function upload_scheduler_private.tg_upload_schedules__uses()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_targets uuid[];
begin
  if tg_op = 'DELETE' then
    -- Claims never started go back to the queue; the videos trigger gives their places back.
    update public.videos v
    set status = 'initiate', slot_id = null, slot_date = null, claimed_at = null
    from old_rows o
    where v.slot_id = o.id and v.status = 'pending';

    insert into upload_scheduler.retired_slot_uses (user_id, slot_id, day, start_time, end_time, local_date, used, deleted)
    select o.user_id, o.id, o.day, o.start_time, o.end_time, c.local_date, c.used - c.inherited, true
    from old_rows o
    join upload_scheduler.slot_day_counts c on c.slot_id = o.id
    -- (Not for a user being deleted, whose slots go with it.)
    where c.used - c.inherited > 0
      and exists (select 1 from public.users u where u.id = o.user_id);

    update public.videos v
    set slot_id = null, slot_date = null
    from old_rows o
    where v.slot_id = o.id;

    delete from upload_scheduler.slot_day_counts c using old_rows o where c.slot_id = o.id;
    -- What a foreign key with ON DELETE CASCADE would do (see the exceptions' table).
    delete from public.upload_schedule_exceptions e using old_rows o where e.slot_id = o.id;
    return null;
  end if;

  if tg_op = 'UPDATE' then
    insert into upload_scheduler.retired_slot_uses (user_id, slot_id, day, start_time, end_time, local_date, used)
    select o.user_id, o.id, o.day, o.start_time, o.end_time, c.local_date, c.used - c.inherited
    from old_rows o
    join new_rows n on n.id = o.id
    join upload_scheduler.slot_day_counts c on c.slot_id = o.id
    where ((n.day, n.start_time, n.end_time) is distinct from (o.day, o.start_time, o.end_time)
           or (o.is_active and not n.is_active))
      and c.used - c.inherited > 0;

    select array_agg(n.id) into v_targets
    from new_rows n
    join old_rows o on o.id = n.id
    where n.is_active
      and (o.day, o.start_time, o.end_time, o.is_active) is distinct from (n.day, n.start_time, n.end_time, n.is_active);
  else
    select array_agg(n.id) into v_targets from new_rows n where n.is_active;
  end if;

  if v_targets is null or not exists (select 1 from upload_scheduler.retired_slot_uses) then
    return null;
  end if;

  -- Each target's inherited part becomes the retired uses of overlapping windows (of other
  -- slots) on each date; dates it inherited before and no longer does go back to 0.
  with wanted as (
    select s.id as slot_id, r.local_date, sum(r.used)::int as inherited
    from public.upload_schedules s
    join upload_scheduler.retired_slot_uses r
      on r.user_id = s.user_id and r.day = s.day and (r.slot_id <> s.id or r.deleted)
     and r.start_time <= s.end_time and s.start_time <= r.end_time
    where s.id = any(v_targets)
    group by 1, 2
  ),
  changes as (
    select coalesce(w.slot_id, c.slot_id) as slot_id, coalesce(w.local_date, c.local_date) as local_date,
           coalesce(w.inherited, 0) as inherited
    from wanted w
    full join (
      select c.slot_id, c.local_date from upload_scheduler.slot_day_counts c
      where c.slot_id = any(v_targets) and c.inherited > 0
    ) c on c.slot_id = w.slot_id and c.local_date = w.local_date
  )
  insert into upload_scheduler.slot_day_counts as c (slot_id, local_date, used, inherited)
  select x.slot_id, x.local_date, x.inherited, x.inherited
  from changes x
  order by x.slot_id, x.local_date
  on conflict (slot_id, local_date) do update
    set used = c.used - c.inherited + excluded.inherited, inherited = excluded.inherited;

  return null;
end;
$$;

comment on function upload_scheduler_private.tg_upload_schedules__uses() is
  E'Trigger: when slots are deleted, returns their pending claims to the queue, retires their day''s uses, clears videos.slot_id and deletes their date exceptions; when slots are moved, retires their old window''s uses; when active slots are created, switched on or moved, they inherit the retired uses of overlapping windows.';

drop trigger if exists tg_upload_schedules__release_videos on public.upload_schedules;

drop trigger if exists tg_upload_schedules__uses_insert on public.upload_schedules;
create trigger tg_upload_schedules__uses_insert
  after insert on public.upload_schedules
  referencing new table as new_rows
  for each statement execute function upload_scheduler_private.tg_upload_schedules__uses();

drop trigger if exists tg_upload_schedules__uses_update on public.upload_schedules;
create trigger tg_upload_schedules__uses_update
  after update on public.upload_schedules
  referencing old table as old_rows new table as new_rows
  for each statement execute function upload_scheduler_private.tg_upload_schedules__uses();

drop trigger if exists tg_upload_schedules__uses_delete on public.upload_schedules;
create trigger tg_upload_schedules__uses_delete
  after delete on public.upload_schedules
  referencing old table as old_rows
  for each statement execute function upload_scheduler_private.tg_upload_schedules__uses();

drop function if exists upload_scheduler_private.tg_upload_schedules__release_videos();
