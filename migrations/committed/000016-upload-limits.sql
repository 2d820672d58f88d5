--! Previous: sha1:1b1544e571900d6ca0c6ce00bdf727d583db73a0
--! Hash: sha1:1a531b0074ade360feab675d585a27d5b14011ea
--! Message: upload limits

-- The platforms' limits, beside the slots: at most max_uploads claims (pending, uploading or
-- uploaded: a place held in the ledger) in any rolling window of `per` (time_zone NULL), or in
-- each calendar window of `per` whole days starting at midnight in time_zone. Several per user.

create table public.upload_limits (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.users (id) on delete cascade,
  max_uploads integer,
  per interval,
  time_zone text,
  note text,
  created_at timestamptz not null default now(),
  constraint upload_limits_user_id_check
    check (user_id is not null or upload_scheduler_private.refuse('upload_limits_user_id_check', '')),
  constraint upload_limits_max_uploads_check
    check ((max_uploads is not null and max_uploads >= 0)
           or upload_scheduler_private.refuse('upload_limits_max_uploads_check', coalesce(max_uploads::text, 'NULL'))),
  constraint upload_limits_per_check
    check ((per is not null and per >= interval '1 minute' and per <= interval '366 days')
           or upload_scheduler_private.refuse('upload_limits_per_check', coalesce(quote_literal(per::text), 'NULL'))),
  constraint upload_limits_calendar_check
    check (time_zone is null or per is null or extract(epoch from per)::numeric % 86400 = 0
           or upload_scheduler_private.refuse('upload_limits_calendar_check', quote_literal(per::text))),
  constraint upload_limits_note_length
    check (coalesce(length(note) <= 200, true) or upload_scheduler_private.refuse('upload_limits_note_length', length(note)::text))
);

comment on table public.upload_limits is
  E'A platform''s limit on a user''s uploads, beside the slots: at most max_uploads claims (pending, uploading or uploaded) in any rolling window of per when time_zone is NULL; in each calendar window of per (whole days) starting at midnight in time_zone when it is set. Every claim respects every limit of its user.';
comment on column public.upload_limits.per is E'The window: any interval from 1 minute to 366 days when rolling; whole days when time_zone is set.';
comment on column public.upload_limits.time_zone is E'NULL: a rolling window. An IANA zone: calendar windows starting at midnight there (e.g. America/Los_Angeles for YouTube''s daily quota).';

create index upload_limits_user_idx on public.upload_limits (user_id);
-- The claims a limit counts: a user's places by the instant they were taken.
create index places_user_taken_idx on upload_scheduler.places (user_id, taken_at) where released_at is null;

alter table public.upload_limits enable row level security;
