--! Previous: sha1:395a9cadf2c9c37d499702720f952474ecb5c536
--! Hash: sha1:5e00a8ae79d7fb1b62309977dfe8c96c1d74bfd3
--! Message: integrity whoever writes

-- Invariants that hold for any SQL, an attempt history, and row-level security.
-- The functions and triggers that use these objects are in sql/.

-- Overlapping active slots of one user are refused by an exclusion constraint, so the rule
-- holds at every isolation level (the trigger's friendlier check reads a snapshot, and at
-- REPEATABLE READ two sessions could each add one half of an overlap).
create extension if not exists btree_gist with schema public;

-- day and slot_name lose their length limit: a value too long then reaches the validation
-- trigger, which names it and says what is accepted (PostgreSQL's own 22001 has no hint).
-- The trigger keeps the limits of the design note (a weekday; slot_name at most 50 characters).
alter table public.upload_schedules
  alter column day type varchar,
  alter column slot_name type varchar;

alter table public.upload_schedules
  add constraint upload_schedules_no_overlap
  exclude using gist (
    user_id with =,
    day with =,
    -- The slot's window in seconds of the day, both ends inclusive (times are whole seconds).
    int4range(extract(epoch from start_time)::int, extract(epoch from end_time)::int, '[]') with &&
  ) where (is_active);
comment on constraint upload_schedules_no_overlap on public.upload_schedules is
  E'Two active slots of one user on one weekday may not share a second (ends are inclusive).';

-- Who is running the video's current (or last) attempt, and how its last attempt ended.
alter table public.videos
  add column worker text,
  add column last_outcome text;
comment on column public.videos.worker is E'The worker (host:pid) that started the current or last attempt.';
comment on column public.videos.last_outcome is
  E'How the last attempt ended: success, failed, timed_out, aborted, interrupted; or stale / late for a claim that was never started.';

-- One user's videos: row-level security for an application acting for that user, the
-- cascade when a user is deleted, and per-user listings.
create index videos_user_idx on public.videos (user_id, created_at);

-- The day's places that outlive their videos and slots:
--   kept:      uploading or uploaded videos that were deleted (a deleted pending one gives its place back);
--   inherited: uses of deleted (or moved) slots whose window overlapped this slot's, on that date.
-- used = the videos counted against the slot that day + kept + inherited.
alter table upload_scheduler.slot_day_counts
  add column kept integer not null default 0,
  add column inherited integer not null default 0,
  add constraint slot_day_counts_kept_check check (kept >= 0 and inherited >= 0);
comment on column upload_scheduler.slot_day_counts.kept is E'Places held by uploading or uploaded videos that were deleted.';
comment on column upload_scheduler.slot_day_counts.inherited is E'Uses of retired slots (deleted, or moved to other times) whose window overlaps this slot''s on that date.';

-- What a slot had used on each date when it was deleted or moved to another day or time:
-- a slot created later at an overlapping time inherits it, so deleting and re-creating a
-- slot never gives it a fresh quota.
create table upload_scheduler.retired_slot_uses (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  slot_id uuid not null,
  day varchar not null,
  start_time time not null,
  end_time time not null,
  local_date date not null,
  used integer not null check (used > 0)
);
create index retired_slot_uses_user_idx on upload_scheduler.retired_slot_uses (user_id, day, local_date);
comment on table upload_scheduler.retired_slot_uses is
  E'Uses of slots that were deleted or moved, per local date; active slots created later at an overlapping time of that weekday count them as their own.';

-- Every attempt at an upload, and every claim that was never started.
create table public.upload_attempts (
  id bigint generated always as identity primary key,
  video_id uuid not null references public.videos (id) on delete cascade,
  user_id uuid not null,
  attempt integer not null,
  slot_id uuid,
  local_date date,
  claimed_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  outcome text,
  error text,
  worker text,
  constraint upload_attempts_outcome_check
    check (outcome in ('success', 'failed', 'timed_out', 'aborted', 'interrupted', 'stale', 'late'))
);
create index upload_attempts_video_idx on public.upload_attempts (video_id, attempt);
create index upload_attempts_user_idx on public.upload_attempts (user_id, id);
create unique index upload_attempts_started_key on public.upload_attempts (video_id, attempt) where started_at is not null;
comment on table public.upload_attempts is
  E'One row per upload attempt (started_at set; outcome NULL while it runs) and per claim that was never started (outcome stale or late). Written by the scheduler''s functions and triggers; read-only for everyone else.';
comment on column public.upload_attempts.attempt is
  E'The attempt number (videos.attempts once started); for stale and late rows, the number the attempt would have had.';
comment on column public.upload_attempts.outcome is
  E'NULL while uploading; then success, failed, timed_out, aborted or interrupted (the worker died; outcome unknown). stale: claimed, never started in time. late: its job came after the slot closed (and START_GRACE).';
comment on column public.upload_attempts.worker is E'host:pid of the worker that ran the attempt.';

-- Row-level security: the roles upload_scheduler_app (one user at a time) and
-- upload_scheduler_worker get policies in sql/ (they are created after the migrations).
-- Without a policy a role other than the owner sees no row; the owner is not affected.
alter table public.users enable row level security;
alter table public.upload_schedules enable row level security;
alter table public.videos enable row level security;
alter table public.upload_attempts enable row level security;
