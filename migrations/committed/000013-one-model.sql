--! Previous: sha1:f4734e3155d0d810292aecf0057dad920f90cad1
--! Hash: sha1:ef9f6a536ae06a726750a464d3e6159e929e91e1
--! Message: one model

-- One model: every place a claim takes is a row of an append-only ledger keyed by the user, the
-- local date and the slot's window (not by a slot id that can be deleted, moved or re-created);
-- row rules are CHECK constraints, which no setting switches off; the lifecycle is written by the
-- scheduler's functions alone. The functions and triggers that use these objects are in sql/.

-- 1. The old triggers go first: their functions read the tables this migration drops.
drop trigger if exists tg_videos__lifecycle_insert on public.videos;
drop trigger if exists tg_videos__lifecycle_update on public.videos;
drop trigger if exists tg_videos__lifecycle_delete on public.videos;
drop trigger if exists tg_videos__validate_insert on public.videos;
drop trigger if exists tg_videos__refuse_update on public.videos;
drop trigger if exists tg_upload_schedules__uses_insert on public.upload_schedules;
drop trigger if exists tg_upload_schedules__uses_update on public.upload_schedules;
drop trigger if exists tg_upload_schedules__uses_delete on public.upload_schedules;
drop trigger if exists tg_upload_schedules__validate on public.upload_schedules;
drop trigger if exists tg_upload_schedule_exceptions__validate on public.upload_schedule_exceptions;
drop trigger if exists tg_users__validate on public.users;
drop trigger if exists tg_users__due_insert on public.users;
drop trigger if exists tg_users__due_delete on public.users;
drop trigger if exists tg_refuse_truncate on public.users;
drop trigger if exists tg_refuse_truncate on public.upload_schedules;
drop trigger if exists tg_refuse_truncate on public.upload_schedule_exceptions;
drop trigger if exists tg_refuse_truncate on public.videos;
drop trigger if exists tg_refuse_truncate on public.upload_attempts;

-- Functions of the old model, and the names of long ago, retired once here.
drop function if exists upload_scheduler_private.tg_videos__lifecycle();
drop function if exists upload_scheduler_private.tg_videos__validate_insert();
drop function if exists upload_scheduler_private.tg_videos__refuse_update();
drop function if exists upload_scheduler_private.tg_videos__refuse_new_owner();
drop function if exists upload_scheduler_private.tg_upload_schedules__uses();
drop function if exists upload_scheduler_private.tg_upload_schedules__release_videos();
drop function if exists upload_scheduler_private.tg_users__due();
drop function if exists upload_scheduler_private.video_times_problem(timestamptz, timestamptz, timestamptz, timestamptz, date);
drop function if exists upload_scheduler_private.raise_bad_video_row(text, uuid, text, text, integer, integer, text);
drop function if exists upload_scheduler_private.effective_quota(uuid, uuid, date, integer);
drop function if exists upload_scheduler_private.claim_for_users(uuid[], integer, timestamptz, boolean);
drop function if exists upload_scheduler_private.claim_for_users(uuid[], integer, timestamptz);
drop function if exists upload_scheduler_private.claim_into_slots(uuid[], date[], uuid[], integer[], integer, timestamptz);
drop function if exists upload_scheduler_private.tick_claim(timestamptz, integer);
drop function if exists upload_scheduler_private.lock_tick();
drop function if exists upload_scheduler_private.lock_due(uuid[]);
drop function if exists upload_scheduler_private.lock_due_skip(uuid[]);
drop function if exists upload_scheduler_private.due_users(timestamptz);
drop function if exists upload_scheduler_private.refresh_due(uuid[], timestamptz);
drop function if exists upload_scheduler_private.take_due(uuid[]);
drop function if exists upload_scheduler_private.mark_due(uuid[]);
drop function if exists upload_scheduler_private.check_interval(interval, text, text);

-- 2. The ledger of places taken.
create table upload_scheduler.places (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  -- The local date (in the user's zone) whose quota the place counts against.
  local_date date not null,
  -- The window of the slot it was taken in, that day: a slot counts every place whose window
  -- shares a second with its own, whatever became of the slot it was taken in.
  start_time time not null,
  end_time time not null,
  -- For people reading it: the slot and video it was taken for (neither is a foreign key: the
  -- place outlives them).
  slot_id uuid,
  video_id uuid,
  taken_at timestamptz not null,
  -- Set when the place is given back (a failed upload, a claim never started, a pending video
  -- deleted): the row stays, on record.
  released_at timestamptz,
  constraint places_window_check check (start_time <= end_time)
);
comment on table upload_scheduler.places is
  E'The ledger of places taken in the slots: one row per claim (pending, uploading or uploaded video), keyed by user, local date and the window of the slot it was taken in; released_at marks a place given back. A slot''s use on a date is the number of unreleased places of its user that day whose window overlaps its own. Written only by the scheduler''s functions.';
comment on column upload_scheduler.places.start_time is E'The window (start_time, end_time, both inclusive) of the slot the place was taken in, that day.';
comment on column upload_scheduler.places.released_at is E'When the place was given back (failed upload, stale or late claim, pending video deleted); NULL while it counts.';

-- A slot's use on a date: the user's places that day (few, given back ones included: pacing
-- counts every claim), then their windows.
create index places_user_day_idx on upload_scheduler.places (user_id, local_date)
  include (start_time, end_time, taken_at, released_at);
-- A video holds at most one place at a time.
create unique index places_video_idx on upload_scheduler.places (video_id) where released_at is null;

-- 3. The places of today's model, from the counters of the old one. Every counted video holds one
-- place in its slot's window; the places kept by deleted uploads are anonymous places in that
-- window; the uses of retired slots keep their own windows (which is what "inherited" meant).
insert into upload_scheduler.places (user_id, local_date, start_time, end_time, slot_id, video_id, taken_at)
select v.user_id, v.slot_date, s.start_time, s.end_time, s.id, v.id, coalesce(v.claimed_at, v.created_at)
from public.videos v
join public.upload_schedules s on s.id = v.slot_id
where v.status in ('pending', 'uploading', 'success') and v.slot_date is not null;

insert into upload_scheduler.places (user_id, local_date, start_time, end_time, slot_id, taken_at)
select s.user_id, c.local_date, s.start_time, s.end_time, s.id,
       coalesce(c.last_claim_at, c.local_date::timestamp at time zone 'UTC')
from upload_scheduler.slot_day_counts c
join public.upload_schedules s on s.id = c.slot_id
cross join generate_series(1, c.kept) g
where c.kept > 0;

insert into upload_scheduler.places (user_id, local_date, start_time, end_time, slot_id, taken_at)
select r.user_id, r.local_date, r.start_time, r.end_time, r.slot_id, r.local_date::timestamp at time zone 'UTC'
from upload_scheduler.retired_slot_uses r
cross join generate_series(1, r.used) g
where exists (select 1 from public.users u where u.id = r.user_id);

drop table upload_scheduler.slot_day_counts;
drop table upload_scheduler.retired_slot_uses;
drop table upload_scheduler.claiming;

-- 4. What a row rule says when it is broken: each constraint's name, mapped to the product's
-- SQLSTATE, message (%s: the value) and hint. A CHECK constraint reads
--   check (<rule> or upload_scheduler_private.refuse('<name>', <value>))
-- so the rule holds for every writer (no setting switches a CHECK off) and still answers with
-- the product's error. The rows are written by sql/ (so messages can improve without a migration).
create table upload_scheduler.rule_messages (
  name text primary key,
  errcode text not null check (errcode ~ '^UP[0-9A-Z]{3}$'),
  message text not null,
  hint text not null,
  detail text
);
comment on table upload_scheduler.rule_messages is
  E'The product''s error for each named constraint and rule: SQLSTATE, message (%s is the offending value), hint. Constraints call upload_scheduler_private.refuse(name, value), which raises it.';

-- Every code the scheduler raises, with its kind: what a caller can do about it.
create table upload_scheduler.error_codes (
  code text primary key check (code ~ '^UP[0-9A-Z]{3}$'),
  kind text not null check (kind in ('input', 'conflict', 'tenant', 'bug', 'database')),
  meaning text not null
);
comment on table upload_scheduler.error_codes is
  E'Every SQLSTATE of class UP the scheduler raises, and its kind: input (fix the request), conflict (the state moved on: read it again), tenant (this session may not), bug (the scheduler''s own invariant broke: report it), database. Clients branch on kind.';

-- The function the constraints call. Defined here because the constraints below need it;
-- sql/ replaces its body (same signature).
create or replace function upload_scheduler_private.refuse(p_rule text, p_value text)
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_rule upload_scheduler.rule_messages;
begin
  select r.* into v_rule from upload_scheduler.rule_messages r where r.name = p_rule;
  raise exception '%', format(coalesce(v_rule.message, 'Rule %s is broken.'), coalesce(p_value, 'NULL'))
    using errcode = coalesce(v_rule.errcode, 'UPBUG'),
          hint = coalesce(v_rule.hint, 'See docs/error_codes.md.');
end;
$$;

-- 5. Rows that could not have been written under these rules are brought in line first.
update public.videos
set slot_id = null, slot_date = null, claimed_at = null, started_at = null, finished_at = null
where status = 'initiate' and (slot_id, slot_date, claimed_at, started_at, finished_at) is distinct from (null, null, null, null, null);
update public.videos set started_at = null, finished_at = null
where status = 'pending' and (started_at is not null or finished_at is not null);
update public.videos set finished_at = null where status = 'uploading' and finished_at is not null;
update public.videos set finished_at = coalesce(started_at, claimed_at, created_at)
where status in ('success', 'failed') and finished_at is null;
update public.videos set title = left(title, 500) where length(title) > 500;
update public.users set pause_reason = left(pause_reason, 500) where length(pause_reason) > 500;
update public.upload_schedule_exceptions set note = left(note, 500) where length(note) > 500;

-- 6. Row rules.
alter table public.videos
  add constraint videos_status_check
    check (status in ('initiate', 'pending', 'uploading', 'success', 'failed')
           or upload_scheduler_private.refuse('videos_status_check', quote_literal(status))),
  add constraint videos_attempts_check
    check (attempts >= 0 or upload_scheduler_private.refuse('videos_attempts_check', attempts::text)),
  add constraint videos_waiting_is_unclaimed
    check (status <> 'initiate'
           or (slot_id is null and slot_date is null and claimed_at is null and started_at is null and finished_at is null)
           or upload_scheduler_private.refuse('videos_waiting_is_unclaimed', id::text)),
  add constraint videos_pending_is_claimed
    check (status <> 'pending' or (claimed_at is not null and started_at is null and finished_at is null)
           or upload_scheduler_private.refuse('videos_pending_is_claimed', id::text)),
  add constraint videos_uploading_is_started
    check (status <> 'uploading'
           or (claimed_at is not null and started_at is not null and attempts >= 1 and finished_at is null)
           or upload_scheduler_private.refuse('videos_uploading_is_started', id::text)),
  add constraint videos_finished_has_finished_at
    check (status not in ('success', 'failed') or finished_at is not null
           or upload_scheduler_private.refuse('videos_finished_has_finished_at', format('%s is %s', id, status))),
  add constraint videos_slot_and_date
    check ((slot_id is null) = (slot_date is null) or upload_scheduler_private.refuse('videos_slot_and_date', id::text)),
  add constraint videos_times_in_order
    check ((coalesce(claimed_at <= started_at, true) and coalesce(started_at <= finished_at, true))
           or upload_scheduler_private.refuse('videos_times_in_order', id::text)),
  add constraint videos_years_check
    check ((created_at >= '1900-01-01Z' and created_at < '2200-01-01Z'
            and coalesce(claimed_at >= '1900-01-01Z' and claimed_at < '2200-01-01Z', true)
            and coalesce(started_at >= '1900-01-01Z' and started_at < '2200-01-01Z', true)
            and coalesce(finished_at >= '1900-01-01Z' and finished_at < '2200-01-01Z', true)
            and coalesce(slot_date >= '1900-01-01' and slot_date < '2200-01-01', true))
           or upload_scheduler_private.refuse('videos_years_check', id::text)),
  add constraint videos_last_outcome_check
    check (last_outcome in ('success', 'failed', 'timed_out', 'aborted', 'interrupted', 'stale', 'late')
           or last_outcome is null
           or upload_scheduler_private.refuse('videos_last_outcome_check', quote_literal(last_outcome))),
  add constraint videos_title_length
    check (coalesce(length(title) <= 500, true) or upload_scheduler_private.refuse('videos_title_length', length(title)::text)),
  add constraint videos_source_path_length
    check (coalesce(length(source_path) <= 4096, true)
           or upload_scheduler_private.refuse('videos_source_path_length', length(source_path)::text)),
  add constraint videos_worker_length
    check (coalesce(length(worker) <= 200, true) or upload_scheduler_private.refuse('videos_worker_length', length(worker)::text)),
  add constraint videos_last_error_length
    check (coalesce(length(last_error) <= 10000, true)
           or upload_scheduler_private.refuse('videos_last_error_length', length(last_error)::text));

alter table public.upload_attempts
  add constraint upload_attempts_times_in_order
    check ((coalesce(claimed_at <= started_at, true) and coalesce(started_at <= finished_at, true))
           or upload_scheduler_private.refuse('upload_attempts_times_in_order', video_id::text)),
  add constraint upload_attempts_attempt_check
    check (attempt >= 1 or upload_scheduler_private.refuse('upload_attempts_attempt_check', attempt::text)),
  add constraint upload_attempts_worker_length
    check (coalesce(length(worker) <= 200, true)
           or upload_scheduler_private.refuse('upload_attempts_worker_length', length(worker)::text)),
  add constraint upload_attempts_error_length
    check (coalesce(length(error) <= 10000, true)
           or upload_scheduler_private.refuse('upload_attempts_error_length', length(error)::text));

alter table public.users
  add constraint users_pause_reason_length
    check (coalesce(length(pause_reason) <= 500, true)
           or upload_scheduler_private.refuse('users_pause_reason_length', length(pause_reason)::text)),
  add constraint users_paused_until_check
    check (uploads_paused_until is null or uploads_paused_until = 'infinity'
           or (uploads_paused_until >= '1900-01-01Z' and uploads_paused_until < '2200-01-01Z')
           or upload_scheduler_private.refuse('users_paused_until_check', uploads_paused_until::text)),
  add constraint users_created_at_check
    check ((created_at >= '1900-01-01Z' and created_at < '2200-01-01Z')
           or upload_scheduler_private.refuse('users_created_at_check', created_at::text));

alter table public.upload_schedules
  add constraint upload_schedules_day_check
    check (day in ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday')
           or upload_scheduler_private.refuse('upload_schedules_day_check', quote_literal(day))),
  add constraint upload_schedules_start_before_end
    check (start_time < end_time
           or upload_scheduler_private.refuse('upload_schedules_start_before_end', format('%s-%s on %s', start_time, end_time, day))),
  add constraint upload_schedules_whole_seconds
    check ((start_time = date_trunc('second', start_time) and end_time = date_trunc('second', end_time))
           or upload_scheduler_private.refuse('upload_schedules_whole_seconds', format('%s-%s on %s', start_time, end_time, day))),
  add constraint upload_schedules_within_the_day
    check (end_time <= '23:59:59'
           or upload_scheduler_private.refuse('upload_schedules_within_the_day', format('%s-%s on %s', start_time, end_time, day))),
  add constraint upload_schedules_max_uploads_check
    check (max_uploads >= 0 or upload_scheduler_private.refuse('upload_schedules_max_uploads_check', max_uploads::text)),
  add constraint upload_schedules_min_interval_check
    check (min_interval is null or (min_interval > interval '0' and min_interval < interval '1 day')
           or upload_scheduler_private.refuse('upload_schedules_min_interval_check',
                                              format('%s-%s on %s has min_interval %L', start_time, end_time, day, min_interval::text))),
  add constraint upload_schedules_slot_name_length
    check (coalesce(length(slot_name) <= 50, true)
           or upload_scheduler_private.refuse('upload_schedules_slot_name_length',
                                              format('%L is %s characters long', left(slot_name, 60), length(slot_name)))),
  add constraint upload_schedules_created_at_check
    check ((created_at >= '1900-01-01Z' and created_at < '2200-01-01Z')
           or upload_scheduler_private.refuse('upload_schedules_created_at_check', created_at::text));

alter table public.upload_schedule_exceptions
  add constraint upload_schedule_exceptions_date_check
    check ((local_date >= '1900-01-01' and local_date < '2200-01-01')
           or upload_scheduler_private.refuse('upload_schedule_exceptions_date_check', local_date::text)),
  add constraint upload_schedule_exceptions_max_uploads_check
    check (max_uploads >= 0 or upload_scheduler_private.refuse('upload_schedule_exceptions_max_uploads_check', max_uploads::text)),
  add constraint upload_schedule_exceptions_note_length
    check (coalesce(length(note) <= 500, true)
           or upload_scheduler_private.refuse('upload_schedule_exceptions_note_length', length(note)::text));

-- 7. The waiting queue per user, and the places a deleted slot's pending claims held.
create index videos_pending_slot_idx on public.videos (slot_id) where status = 'pending';
drop index if exists public.videos_slot_idx;
