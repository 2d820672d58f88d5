--! Previous: -
--! Hash: sha1:5660c3fc5e91d333695aadcc8aeef9a6048e22ef
--! Message: data model

-- The scheduler's data model: tables, indexes and the per-slot, per-day counter.
-- Functions, views and triggers are in sql/ and are applied after every migration.

create schema if not exists upload_scheduler;
comment on schema upload_scheduler is
  E'The upload scheduler''s API: functions to read and change the schedule, claim videos and record uploads. See \\df+ upload_scheduler.*';

create table public.users (
  id uuid primary key default gen_random_uuid(),
  time_zone text not null default 'Asia/Kolkata',
  created_at timestamptz not null default now()
);
comment on table public.users is E'Creators and teams whose videos are scheduled. Slot times are read in the user''s time_zone.';
comment on column public.users.time_zone is E'An IANA time zone name (see pg_timezone_names); the weekday and times of this user''s slots are local to it.';

create table public.upload_schedules (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  day varchar(20) not null,
  start_time time not null,
  end_time time not null,
  max_uploads integer not null default 1,
  slot_name varchar(50),
  is_active boolean not null default true,
  created_at timestamptz not null default now()
);
comment on table public.upload_schedules is
  E'Weekly upload slots: on day (a lowercase English weekday), from start_time to end_time inclusive, in the user''s time zone, at most max_uploads uploads per local date.';
comment on column public.upload_schedules.day is E'monday … sunday; any case is accepted and stored lowercase.';
comment on column public.upload_schedules.max_uploads is E'Uploads allowed in this slot per local date; 0 pauses the slot without deactivating it.';
comment on column public.upload_schedules.is_active is E'Inactive slots are ignored by the scheduler and may overlap other slots.';

-- Finding the slots open now: by weekday and start time, across all users.
create index upload_schedules_open_idx on public.upload_schedules (day, start_time)
  include (end_time, user_id, max_uploads) where is_active;
-- One user's slots on one weekday (overlap checks, find_active_slot).
create index upload_schedules_user_day_idx on public.upload_schedules (user_id, day, start_time) where is_active;

create table public.videos (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  status text not null default 'initiate',
  created_at timestamptz not null default now(),
  title text,
  source_path text,
  slot_id uuid references public.upload_schedules (id) on delete set null,
  slot_date date,
  claimed_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  attempts integer not null default 0,
  last_error text
);
comment on table public.videos is
  E'Videos waiting for or past upload. status moves initiate -> pending -> uploading -> success | failed, plus pending -> initiate (stale) and failed -> initiate (retry).';
comment on column public.videos.status is E'initiate (waiting), pending (claimed into a slot), uploading, success or failed.';
comment on column public.videos.source_path is E'The file the built-in local destination uploads; a mediaProccess module may use it or ignore it.';
comment on column public.videos.slot_id is E'The slot the video was last claimed into; with slot_date it says which quota the claim counts against.';
comment on column public.videos.slot_date is E'The local date (in the user''s time zone) of the slot the video was claimed into.';
comment on column public.videos.attempts is E'Uploads started so far (pending -> uploading moves).';
comment on column public.videos.last_error is E'The error of the last failed attempt; kept when the video is retried.';

-- The claim: a user's oldest waiting video.
create index videos_waiting_idx on public.videos (user_id, created_at, id) where status = 'initiate';
-- Recovery sweeps: stale pending, failed to retry, interrupted uploads.
create index videos_pending_idx on public.videos (claimed_at) where status = 'pending';
create index videos_failed_idx on public.videos (finished_at) where status = 'failed';
create index videos_uploading_idx on public.videos (started_at) where status = 'uploading';
-- ON DELETE SET NULL from upload_schedules, and per-slot history.
create index videos_slot_idx on public.videos (slot_id, slot_date) where slot_id is not null;

-- One row per slot and local date: the lock that serialises claims into the slot that day,
-- and how many videos are counted against it (pending, uploading or success).
-- Kept by the statement triggers on public.videos; never written by hand.
create table upload_scheduler.slot_day_counts (
  slot_id uuid not null references public.upload_schedules (id) on delete cascade,
  local_date date not null,
  used integer not null default 0,
  primary key (slot_id, local_date)
);
comment on table upload_scheduler.slot_day_counts is
  E'Uploads counted against each slot on each local date (pending, uploading, success). Maintained by triggers on public.videos; its row lock serialises claims into one slot.';
