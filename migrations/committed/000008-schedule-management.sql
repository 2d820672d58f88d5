--! Previous: sha1:5e00a8ae79d7fb1b62309977dfe8c96c1d74bfd3
--! Hash: sha1:05befb520bcc139b6e7d8a4a244d94efde5704f1
--! Message: schedule management

-- The schedule as people manage it: date exceptions, pause, pacing. The functions are in sql/.

-- On a local date, the quota of one slot (slot_id) or of every slot of the user (slot_id NULL).
create table public.upload_schedule_exceptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  local_date date not null,
  -- No foreign key: it would make TRUNCATE upload_schedules fail with PostgreSQL's error before
  -- the scheduler's own refusal. The exceptions trigger checks the slot (and its user); the slots'
  -- delete trigger deletes the exceptions of deleted slots.
  slot_id uuid null,
  max_uploads integer not null default 0,
  note text,
  constraint upload_schedule_exceptions_one_per_slot_and_date unique nulls not distinct (user_id, local_date, slot_id)
);
comment on table public.upload_schedule_exceptions is
  E'Date exceptions: on local_date (in the owner''s time zone) max_uploads replaces the quota of slot_id, or of every slot of the user when slot_id is NULL; a slot''s row wins over the whole-day row. 0 means no uploads that day.';
comment on column public.upload_schedule_exceptions.slot_id is E'The slot whose quota changes that day; NULL for every slot of the user.';
comment on column public.upload_schedule_exceptions.max_uploads is E'The quota that day: 0 for none ("25 December off"), more than usual for a launch day.';
comment on column public.upload_schedule_exceptions.note is E'Why, for people reading the schedule (shown by upcoming_windows).';
alter table public.upload_schedule_exceptions enable row level security;

-- Pause: nothing of the user is claimed until uploads_paused_until (uploads already running finish).
alter table public.users
  add column uploads_paused_until timestamptz,
  add column pause_reason text;
comment on column public.users.uploads_paused_until is
  E'While now() is before it, nothing of this user is claimed; the pause ends by itself then. NULL: not paused; ''infinity'': until resumed.';
comment on column public.users.pause_reason is E'Why the user''s uploads are paused, for people reading the schedule.';

-- Pacing: two claims into one slot on one local date at least this far apart.
alter table public.upload_schedules add column min_interval interval;
comment on column public.upload_schedules.min_interval is
  E'Two claims into this slot on one local date are at least this far apart (by claimed_at); NULL: no pacing. Positive and under a day.';

-- The last claim into each slot on each date, for pacing.
alter table upload_scheduler.slot_day_counts add column last_claim_at timestamptz;
comment on column upload_scheduler.slot_day_counts.last_claim_at is E'When the last video was claimed into the slot that day (pacing reads it).';
