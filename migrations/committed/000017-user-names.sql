--! Previous: sha1:1a531b0074ade360feab675d585a27d5b14011ea
--! Hash: sha1:d6c89f45b95d0ea29d201e00738473de7d01ad03
--! Message: user names

-- A name for each user, optional: what the dashboard lists users by (their id otherwise).
alter table public.users
  add column name text,
  add constraint users_name_length
    check (coalesce(length(name) <= 200, true)
           or upload_scheduler_private.refuse('users_name_length', length(name)::text));
comment on column public.users.name is E'A name people know the user by (a channel, a creator), shown by the dashboard; optional, at most 200 characters.';
