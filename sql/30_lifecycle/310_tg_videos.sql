-- A video row outside the lifecycle: what is inserted, what never changes, what a delete gives back.

-- A new video waits (initiate): the functions move it from there. Its user exists (and belongs
-- to the session's tenant); a missing required value gets the product's error, not a bare 23502.
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
  if new.status is distinct from 'initiate' then
    perform upload_scheduler_private.refuse('videos_inserted_waiting', coalesce(quote_literal(new.status), 'NULL'));
  end if;
  if new.created_at is null then
    perform upload_scheduler_private.refuse('videos_created_at_not_null', new.id::text);
  end if;
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_videos__validate_insert() is
  E'Trigger: a new video needs an existing user of the session''s tenant (UPNUS), waits as initiate (UPMOV otherwise) and has created_at.';

create or replace trigger tg_videos__validate_insert
  before insert on public.videos
  for each row execute function upload_scheduler_private.tg_videos__validate_insert();

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
