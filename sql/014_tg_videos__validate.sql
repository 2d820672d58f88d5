-- The errors of an inconsistent video row, shared by the insert and update triggers.
create or replace function upload_scheduler_private.raise_bad_video_row(
  p_problem text,
  p_video_id uuid,
  p_old_status text,
  p_new_status text,
  p_old_attempts integer,
  p_new_attempts integer,
  p_last_outcome text
)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
set jit = off
as $$
begin
  case p_problem
  when 'status' then
    if p_old_status is not null then
      raise exception 'Video % cannot move from % to %.', p_video_id, quote_literal(p_old_status), coalesce(quote_literal(p_new_status), 'NULL')
        using errcode = 'UPSTS',
              detail = 'The lifecycle is initiate -> pending -> uploading -> success | failed, plus pending -> initiate (stale recovery) and failed -> initiate (retry).',
              hint = 'A video''s status is one of initiate, pending, uploading, success, failed.';
    end if;
    raise exception 'Unknown video status % for video %.', coalesce(quote_literal(p_new_status), 'NULL'), p_video_id
      using errcode = 'UPSTS',
            hint = 'A video''s status is one of initiate, pending, uploading, success, failed; leave it out to queue the video as initiate.';
  when 'move' then
    raise exception 'Video % cannot move from % to %.', p_video_id, quote_literal(p_old_status), quote_literal(p_new_status)
      using errcode = 'UPSTS',
            detail = 'The lifecycle is initiate -> pending -> uploading -> success | failed, plus pending -> initiate (stale recovery) and failed -> initiate (retry).',
            hint = case
              when p_old_status = 'failed'
                then 'To upload a failed video again, call upload_scheduler.retry_video(id).'
              else 'Use the scheduler''s functions (find_next_video_to_upload, start_upload, finish_upload, retry_video), which move videos along the lifecycle.'
            end;
  when 'attempts' then
    raise exception 'attempts of video % cannot be % (it was %).', p_video_id, coalesce(p_new_attempts::text, 'NULL'), coalesce(p_old_attempts::text, 'not set')
      using errcode = 'UPATT',
            detail = 'attempts counts the uploads started: 0 or more, and it grows by one when the video moves from pending to uploading.',
            hint = 'Leave attempts alone. To upload a failed video again whatever its attempts, call upload_scheduler.retry_video(id).';
  when 'slot' then
    raise exception 'Video % has only one of slot_id and slot_date.', p_video_id
      using errcode = 'UPROW',
            hint = 'Give both (the slot it counts against and the local date) or neither.';
  when 'pending' then
    raise exception 'Video % is pending without claimed_at.', p_video_id
      using errcode = 'UPROW',
            hint = 'A pending video was claimed at some instant: set claimed_at (and slot_id, slot_date), or claim it with find_next_video_to_upload.';
  when 'uploading' then
    raise exception 'Video % is uploading without claimed_at and started_at (and at least one attempt).', p_video_id
      using errcode = 'UPROW',
            hint = 'Start uploads with upload_scheduler.start_upload(id), which records them; or give claimed_at, started_at and attempts >= 1.';
  when 'failed' then
    raise exception 'Video % is failed without finished_at.', p_video_id
      using errcode = 'UPROW',
            hint = 'Set finished_at (the retry cool-down counts from it), or record outcomes with upload_scheduler.finish_upload.';
  when 'outcome' then
    raise exception 'Unknown last_outcome % for video %.', quote_literal(p_last_outcome), p_video_id
      using errcode = 'UPROW',
            hint = 'last_outcome is one of success, failed, timed_out, aborted, interrupted, stale, late, or NULL.';
  when 'range' then
    raise exception 'Video % has a time or slot_date outside the years 1900 to 2199.', p_video_id
      using errcode = 'UPROW',
            hint = 'Give created_at, claimed_at, started_at, finished_at and slot_date within 1900 to 2199.';
  when 'order' then
    raise exception 'Video % has its times out of order: it cannot start before its claim or finish before its start.', p_video_id
      using errcode = 'UPROW',
            hint = 'Give claimed_at <= started_at <= finished_at.';
  when 'noslot' then
    raise exception 'Video % cannot start: it was claimed into no slot.', p_video_id
      using errcode = 'UPROW',
            detail = 'An upload starts inside its slot''s window.',
            hint = 'Put it back in the queue (update videos set status = ''initiate'', claimed_at = null where id = …) for the next open slot to claim.';
  when 'created_at' then
    raise exception 'Video % has no created_at, or an infinite one.', p_video_id
      using errcode = 'UPROW',
            hint = 'Leave created_at out for now(), or give the instant the video joined the queue (its order).';
  else
    raise exception 'Video % is inconsistent (%).', p_video_id, p_problem
      using errcode = 'UPROW',
            hint = 'See the comment on table public.videos.';
  end case;
end;
$$;

comment on function upload_scheduler_private.raise_bad_video_row(text, uuid, text, text, integer, integer, text) is
  E'Internal: raises the error (UPSTS, UPATT, UPROW) for one kind of inconsistent video row.';

-- A new video: its user exists (and is named in the error when not), its row is consistent.
-- Row-level, but only on INSERT: a claim (an UPDATE) never pays for it.
create or replace function upload_scheduler_private.tg_videos__validate_insert()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set jit = off
as $$
declare
  v_problem text;
begin
  if new.id is null then
    raise exception 'videos.id is NULL.'
      using errcode = 'UPARG',
            hint = 'Leave id out to get a generated one, or give a uuid.';
  end if;
  if new.user_id is null or not exists (select 1 from public.users u where u.id = new.user_id)
     or new.user_id <> coalesce(upload_scheduler_private.acting_user_id(), new.user_id) then
    raise exception '%', case when new.user_id is null then 'A video needs a user: user_id is NULL.' else format('No user with id %s.', new.user_id) end
      using errcode = 'UPNUS',
            hint = 'Give the id of a row of public.users (insert the user first).';
  end if;
  v_problem := case
    when new.status is null or new.status not in ('initiate', 'pending', 'uploading', 'success', 'failed') then 'status'
    when new.attempts is null or new.attempts < 0 then 'attempts'
    when new.created_at is null or not isfinite(new.created_at) then 'created_at'
    when (new.slot_id is null) <> (new.slot_date is null) then 'slot'
    when new.status = 'pending' and new.claimed_at is null then 'pending'
    when new.status = 'uploading' and (new.claimed_at is null or new.started_at is null or new.attempts < 1) then 'uploading'
    when new.status = 'failed' and new.finished_at is null then 'failed'
    when new.last_outcome not in ('success', 'failed', 'timed_out', 'aborted', 'interrupted', 'stale', 'late') then 'outcome'
    else upload_scheduler_private.video_times_problem(new.created_at, new.claimed_at, new.started_at,
           case when new.status in ('success', 'failed') then new.finished_at end, new.slot_date)
  end;
  if v_problem is not null then
    perform upload_scheduler_private.raise_bad_video_row(v_problem, new.id, null, new.status, null, new.attempts, new.last_outcome);
  end if;
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_videos__validate_insert() is
  E'Trigger: a new video needs an existing user (UPNUS), a known status (UPSTS), attempts >= 0 (UPATT) and the columns its status implies (UPROW).';

drop trigger if exists tg_videos__validate_insert on public.videos;
create trigger tg_videos__validate_insert
  before insert on public.videos
  for each row execute function upload_scheduler_private.tg_videos__validate_insert();

-- Ids never change, a video never changes hands, and no required column becomes NULL (caught
-- here, before PostgreSQL's NOT NULL check, to say which and why). The WHEN clause is
-- evaluated without calling the function: it costs a claim nothing unless it refuses.
create or replace function upload_scheduler_private.tg_videos__refuse_update()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
set jit = off
as $$
begin
  if new.id is distinct from old.id then
    raise exception 'The id of video % cannot change (to %).', old.id, coalesce(new.id::text, 'NULL')
      using errcode = 'UPIMM',
            detail = 'Its upload history and its jobs refer to it by id.',
            hint = 'Insert a new video instead (and delete this one if it should go).';
  end if;
  if new.user_id is distinct from old.user_id then
    raise exception 'Video % belongs to user % and cannot be given to user %.', old.id, old.user_id, coalesce(new.user_id::text, 'NULL')
      using errcode = 'UPIMM',
            hint = 'Insert a new video for the other user instead (and delete this one if it should go).';
  end if;
  perform upload_scheduler_private.raise_bad_video_row(
    case when new.status is null then 'status' when new.attempts is null then 'attempts' else 'created_at' end,
    old.id, old.status, new.status, old.attempts, new.attempts, new.last_outcome);
  return new;
end;
$$;

comment on function upload_scheduler_private.tg_videos__refuse_update() is
  E'Trigger: refuses a change of videos.id or videos.user_id (UPIMM) and a NULL status, attempts or created_at (UPSTS, UPATT, UPROW).';

drop trigger if exists tg_videos__immutable on public.videos;
drop function if exists upload_scheduler_private.tg_videos__refuse_new_owner();
drop trigger if exists tg_videos__refuse_update on public.videos;
create trigger tg_videos__refuse_update
  before update on public.videos
  for each row
  when (new.id is distinct from old.id or new.user_id is distinct from old.user_id
        or new.status is null or new.attempts is null or new.created_at is null)
  execute function upload_scheduler_private.tg_videos__refuse_update();
