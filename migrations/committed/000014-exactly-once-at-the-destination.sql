--! Previous: sha1:ef9f6a536ae06a726750a464d3e6159e929e91e1
--! Hash: sha1:c5a71dd78b39e130ecd1c3e56a24a3b3dadf326e
--! Message: exactly once at the destination

-- Exactly once at the destination: every attempt a worker runs holds a lease on the database's
-- clock, renewed by heartbeats, and proves it is that attempt with a token (only its hash is
-- kept); what a destination answered, the bytes sent and the resumable state it checkpointed live
-- on the video; failures have kinds (retry later, needs reconnect, permanent, unknown); a user can
-- be held until an instant; workers report their clocks. The functions are in sql/.

alter table public.upload_attempts
  add column token_hash bytea,
  add column lease_until timestamptz,
  add column heartbeat_at timestamptz,
  add column worker_host text,
  add column worker_pid integer,
  add column result jsonb,
  add column bytes_sent bigint,
  add column bytes_total bigint;
comment on column public.upload_attempts.token_hash is
  E'sha256 of the token the worker that runs this attempt was given at its start: ending, renewing or checkpointing the attempt takes the token. NULL for attempts started by start_upload (an application''s own).';
comment on column public.upload_attempts.lease_until is
  E'While the attempt runs: until when its worker holds it, on the database''s clock (renewed by heartbeats). Once it has passed, the next sweep ends the attempt as interrupted. NULL: no lease (start_upload), judged by INTERRUPTED_AFTER.';
comment on column public.upload_attempts.result is E'What the destination answered (e.g. {"remoteId": …, "remoteUrl": …}).';

alter table public.upload_attempts drop constraint upload_attempts_outcome_check;
alter table public.upload_attempts
  add constraint upload_attempts_outcome_check
    check (outcome in ('success', 'failed', 'timed_out', 'aborted', 'interrupted', 'stale', 'late',
                       'retry_later', 'needs_reconnect', 'permanent', 'unknown')
           or outcome is null
           or upload_scheduler_private.refuse('upload_attempts_outcome_check', quote_literal(outcome))),
  add constraint upload_attempts_worker_pid_check
    check (worker_pid is null or worker_pid > 0 or upload_scheduler_private.refuse('upload_attempts_worker_pid_check', worker_pid::text)),
  add constraint upload_attempts_bytes_check
    check ((coalesce(bytes_sent >= 0, true) and coalesce(bytes_total >= 0, true))
           or upload_scheduler_private.refuse('upload_attempts_bytes_check', format('%s of %s', bytes_sent, bytes_total)));
-- The sweep reads the running attempts whose lease has passed; a worker starting reads its host's.
create index upload_attempts_lease_idx on public.upload_attempts (lease_until) where outcome is null and lease_until is not null;
create index upload_attempts_running_host_idx on public.upload_attempts (worker_host, worker_pid) where outcome is null;

alter table public.videos
  add column remote_id text,
  add column remote_url text,
  add column bytes_sent bigint,
  add column bytes_total bigint,
  add column resume_state jsonb,
  add column free_attempts integer not null default 0,
  add column metadata jsonb,
  add column destination text,
  add column not_before timestamptz;
comment on column public.videos.remote_id is E'The id the destination gave the uploaded video (e.g. a YouTube video id).';
comment on column public.videos.remote_url is E'Where the uploaded video is (e.g. its YouTube watch URL, or the tus upload''s URL).';
comment on column public.videos.bytes_sent is E'Bytes of the running (or last) upload sent so far, as its worker reported (every few seconds).';
comment on column public.videos.resume_state is
  E'What the destination checkpointed to resume this video''s upload (a session URL, an offset, a platform id): kept across attempts and workers, given to the next attempt as context.resume.';
comment on column public.videos.free_attempts is
  E'Attempts that do not count towards MAX_ATTEMPTS: the destination said to retry later, needed a reconnect, or the outcome stayed unknown.';
comment on column public.videos.metadata is E'What a destination publishes with the video: {"title", "description", "tags", "privacyStatus", "publishAt", "categoryId"}.';
comment on column public.videos.destination is
  E'Where this video goes, overriding its user''s: builtin:tus, builtin:youtube, builtin:local or a module path. NULL: the user''s, else MEDIA_PROCESS_MODULE.';
comment on column public.videos.not_before is E'The video is not claimed before this instant (e.g. "publish no earlier than Friday 18:00").';

alter table public.videos drop constraint videos_last_outcome_check;
alter table public.videos
  add constraint videos_last_outcome_check
    check (last_outcome in ('success', 'failed', 'timed_out', 'aborted', 'interrupted', 'stale', 'late',
                            'retry_later', 'needs_reconnect', 'permanent', 'unknown')
           or last_outcome is null
           or upload_scheduler_private.refuse('videos_last_outcome_check', quote_literal(last_outcome))),
  add constraint videos_remote_length
    check ((coalesce(length(remote_id) <= 500, true) and coalesce(length(remote_url) <= 2000, true))
           or upload_scheduler_private.refuse('videos_remote_length', format('%s and %s', length(remote_id), length(remote_url)))),
  add constraint videos_bytes_check
    check ((coalesce(bytes_sent >= 0, true) and coalesce(bytes_total >= 0, true))
           or upload_scheduler_private.refuse('videos_bytes_check', format('%s of %s', bytes_sent, bytes_total))),
  add constraint videos_resume_state_size
    check (coalesce(pg_column_size(resume_state) <= 65536, true)
           or upload_scheduler_private.refuse('videos_resume_state_size', pg_column_size(resume_state)::text)),
  add constraint videos_metadata_check
    check ((metadata is null or (jsonb_typeof(metadata) = 'object' and pg_column_size(metadata) <= 65536))
           or upload_scheduler_private.refuse('videos_metadata_check', coalesce(jsonb_typeof(metadata), '') || ' of ' || pg_column_size(metadata) || ' bytes')),
  add constraint videos_destination_check
    check (destination is null or destination in ('builtin:tus', 'builtin:youtube', 'builtin:local')
           or (destination !~ '^builtin:' and length(destination) between 1 and 1000)
           or upload_scheduler_private.refuse('videos_destination_check', quote_literal(left(destination, 100)))),
  add constraint videos_free_attempts_check
    check ((free_attempts >= 0 and free_attempts <= attempts)
           or upload_scheduler_private.refuse('videos_free_attempts_check', format('%s of %s', free_attempts, attempts))),
  add constraint videos_not_before_check
    check (not_before is null or (not_before >= '1900-01-01Z' and not_before < '2200-01-01Z')
           or upload_scheduler_private.refuse('videos_not_before_check', not_before::text));

alter table public.users
  add column destination text,
  add column credentials text,
  add column held_until timestamptz,
  add column hold_reason text;
comment on column public.users.destination is
  E'Where this user''s videos go: builtin:tus, builtin:youtube, builtin:local or a module path. NULL: MEDIA_PROCESS_MODULE.';
comment on column public.users.credentials is
  E'The name of this user''s credentials: the destination reads its settings from the environment variables NAME__<credentials> (e.g. TUS_HEADERS__ACME), falling back to NAME. Never the secrets themselves.';
comment on column public.users.held_until is
  E'While now() is before it, nothing of this user is claimed: a destination said to retry later (a platform''s rate or upload limit). Ends by itself.';
comment on column public.users.hold_reason is E'Why the user is held, as the destination said it.';
alter table public.users
  add constraint users_destination_check
    check (destination is null or destination in ('builtin:tus', 'builtin:youtube', 'builtin:local')
           or (destination !~ '^builtin:' and length(destination) between 1 and 1000)
           or upload_scheduler_private.refuse('users_destination_check', quote_literal(left(destination, 100)))),
  add constraint users_credentials_check
    check (credentials is null or credentials ~ '^[A-Za-z0-9_]{1,64}$'
           or upload_scheduler_private.refuse('users_credentials_check', quote_literal(left(credentials, 100)))),
  add constraint users_held_until_check
    check (held_until is null or (held_until >= '1900-01-01Z' and held_until < '2200-01-01Z')
           or upload_scheduler_private.refuse('users_held_until_check', held_until::text)),
  add constraint users_hold_reason_length
    check (coalesce(length(hold_reason) <= 500, true) or upload_scheduler_private.refuse('users_hold_reason_length', length(hold_reason)::text));

-- The workers as they report themselves: their clock against the database's, whether they run the
-- crontab, when they were last seen. health() and /readyz read it.
create table upload_scheduler.workers (
  id text primary key,
  host text not null,
  pid integer not null,
  started_at timestamptz not null,
  seen_at timestamptz not null,
  clock_skew_ms double precision not null,
  runs_crontab boolean not null,
  note text,
  constraint workers_id_length check (length(id) <= 200)
);
comment on table upload_scheduler.workers is
  E'One row per worker process (host:pid), written by the worker every minute: its clock''s difference from the database''s (clock_skew_ms; a worker past the limit does not run the crontab), and when it was last seen. Rows of workers not seen for a day are pruned.';

-- health() gains columns (leases run out, outcomes unknown, users held, workers' clocks): a
-- changed result type is a new function.
drop function if exists upload_scheduler.health(interval, integer, timestamptz);
