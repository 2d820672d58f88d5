-- A video row outside the lifecycle: what is inserted, what never changes, what a delete gives back.

-- A new video: its user exists (and belongs to the session's tenant); a missing required value
-- gets the product's error, not a bare 23502. It is queued as initiate, or inserted as history
-- (already pending, uploading or uploaded, counted against a slot and date: see take_inserted_place);
-- from there the scheduler's functions move it.
create or replace function upload_scheduler_private.tg_videos__validate_insert()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.id is null then
    perform upload_scheduler_private.refuse('videos_id_not_null', '');
  end if;
  if new.user_id is null then
    perform upload_scheduler_private.refuse('videos_user_id_not_null', '');
  end if;
  if not exists (select 1 from public.users u where u.id = new.user_id)
     or new.user_id <> coalesce(upload_scheduler_private.acting_user_id(), new.user_id) then
    perform upload_scheduler_private.refuse('videos_user_exists', new.user_id::text);
  end if;
  if new.created_at is null then
    perform upload_scheduler_private.refuse('videos_created_at_not_null', new.id::text);
  end if;
  if new.status is null then
    perform upload_scheduler_private.refuse('videos_status_not_null', '');
  end if;
  if new.attempts is null then
    perform upload_scheduler_private.refuse('videos_attempts_not_null', '');
  end if;
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_videos__validate_insert() is
  E'Trigger: a new video needs an existing user of the session''s tenant (UPNUS) and created_at.';

create or replace trigger tg_videos__validate_insert
  before insert on public.videos
  for each row execute function upload_scheduler_private.tg_videos__validate_insert();

-- A video inserted as counted (pending, uploading or success, with slot_id and slot_date: an
-- import, a test's history) takes its place through the claim's rules: under its user's due row,
-- in its slot's window, within the quota that day; an uploading one opens its attempt.
create or replace function upload_scheduler_private.tg_videos__take_inserted_place()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_slot public.upload_schedules;
  v_facts record;
begin
  update upload_scheduler.user_due d set due_at = d.due_at where d.user_id = new.user_id;
  select s.* into v_slot from public.upload_schedules s
  where s.id = new.slot_id and s.user_id = coalesce(upload_scheduler_private.acting_user_id(), s.user_id);
  if not found then
    perform upload_scheduler_private.refuse('videos_inserted_counted_slot',
      format('%s is counted against slot %s, which does not exist', new.id, new.slot_id));
  end if;
  if v_slot.user_id <> new.user_id then
    perform upload_scheduler_private.refuse('videos_inserted_counted_owner',
      format('%s of user %s cannot count against slot %s, which belongs to user %s', new.id, new.user_id, new.slot_id, v_slot.user_id));
  end if;
  if v_slot.day <> upload_scheduler_private.weekday_name(new.slot_date::timestamp) then
    perform upload_scheduler_private.refuse('videos_inserted_counted_weekday',
      format('%s has slot_date %s (a %s), but its slot %s is on %s', new.id, new.slot_date,
             upload_scheduler_private.weekday_name(new.slot_date::timestamp), new.slot_id, v_slot.day));
  end if;
  select f.* into v_facts
  from upload_scheduler_private.day_facts(array[new.user_id], array[new.slot_date], array[v_slot.id],
                                          array[v_slot.start_time], array[v_slot.end_time], array[v_slot.max_uploads]) f;
  if v_facts.used >= v_facts.quota then
    perform upload_scheduler_private.refuse('videos_inserted_counted_full',
      format('Slot %s (%s) allows %s uploads on %s%s; video %s would count %s', coalesce(quote_literal(v_slot.slot_name), v_slot.id::text),
             v_slot.id, v_facts.quota, new.slot_date, case when v_facts.exception_max is not null then ' (a date exception)' else '' end,
             new.id, v_facts.used + 1));
  end if;
  insert into upload_scheduler.places (user_id, local_date, start_time, end_time, slot_id, video_id, taken_at)
  values (new.user_id, new.slot_date, v_slot.start_time, v_slot.end_time, v_slot.id, new.id, coalesce(new.claimed_at, new.created_at));
  if new.status = 'uploading' then
    insert into public.upload_attempts (video_id, user_id, attempt, slot_id, local_date, claimed_at, started_at, worker)
    values (new.id, new.user_id, new.attempts, new.slot_id, new.slot_date, new.claimed_at, new.started_at, new.worker);
  end if;
  return null;
end;
$$;

comment on function upload_scheduler_private.tg_videos__take_inserted_place() is
  E'Trigger: a video inserted as pending, uploading or success with a slot takes its place by the claim''s rules (the slot exists, is its user''s and on the weekday of slot_date: UPNSL, UPVSL; the quota that day has room: UPFUL); an uploading one opens its attempt.';

create or replace trigger tg_videos__take_inserted_place
  after insert on public.videos
  for each row
  when (new.status in ('pending', 'uploading', 'success') and new.slot_id is not null)
  execute function upload_scheduler_private.tg_videos__take_inserted_place();

-- Ids never change and a video never changes hands. The WHEN clause is evaluated without calling
-- the function: it costs a claim nothing unless it refuses.
create or replace function upload_scheduler_private.tg_videos__refuse_update()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.id is distinct from old.id then
    perform upload_scheduler_private.refuse('videos_id_immutable', format('%s (to %s)', old.id, coalesce(new.id::text, 'NULL')));
  end if;
  if new.user_id is distinct from old.user_id then
    perform upload_scheduler_private.refuse('videos_user_immutable',
      format('%s of user %s (to %s)', old.id, old.user_id, coalesce(new.user_id::text, 'NULL')));
  end if;
  perform upload_scheduler_private.refuse('videos_created_at_not_null', old.id::text);
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_videos__refuse_update() is
  E'Trigger: refuses a change of videos.id or videos.user_id (UPIMM) and a NULL created_at.';

create or replace trigger tg_videos__refuse_update
  before update on public.videos
  for each row
  when (new.id is distinct from old.id or new.user_id is distinct from old.user_id or new.created_at is null)
  execute function upload_scheduler_private.tg_videos__refuse_update();

-- Arrivals: the next tick looks at their users (insert only, never waits for a tick).
create or replace function upload_scheduler_private.tg_videos__arrivals()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  insert into upload_scheduler.due_marks (user_id) select distinct n.user_id from new_rows n;
  return null;
end;
$$;

comment on function upload_scheduler_private.tg_videos__arrivals() is
  E'Trigger: leaves a due mark for the users of new videos, so the next tick looks at them.';

create or replace trigger tg_videos__arrivals
  after insert on public.videos
  referencing new table as new_rows
  for each statement execute function upload_scheduler_private.tg_videos__arrivals();

-- A deleted pending video gives its place back (its claim is withdrawn); an upload under way or
-- done keeps its place for the day: it happened, whatever became of the row.
create or replace function upload_scheduler_private.tg_videos__deleted()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform upload_scheduler_private.release_places(
    array(select o.id from old_rows o where o.status = 'pending'), now());
  return null;
end;
$$;

comment on function upload_scheduler_private.tg_videos__deleted() is
  E'Trigger: a deleted pending video gives its place back (and its user is looked at by the next tick); uploading and uploaded videos keep theirs.';

create or replace trigger tg_videos__deleted
  after delete on public.videos
  referencing old table as old_rows
  for each statement execute function upload_scheduler_private.tg_videos__deleted();

-- A video's not_before moved earlier (or cleared): its user may have something to claim sooner.
create or replace function upload_scheduler_private.tg_videos__not_before()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  insert into upload_scheduler.due_marks (user_id) values (new.user_id);
  return null;
end;
$$;

comment on function upload_scheduler_private.tg_videos__not_before() is
  E'Trigger: a waiting video whose not_before moved earlier marks its user for the next tick.';

create or replace trigger tg_videos__not_before
  after update of not_before on public.videos
  for each row
  when (new.status = 'initiate' and coalesce(new.not_before, '-infinity') < coalesce(old.not_before, '-infinity'))
  execute function upload_scheduler_private.tg_videos__not_before();
