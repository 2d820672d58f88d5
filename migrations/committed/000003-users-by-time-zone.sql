--! Previous: sha1:d964755b8f7c680b984a414518c17a0b0492d039
--! Hash: sha1:5610efe311153f18dd978788eab3553105067a47
--! Message: users by time zone

-- The users of one time zone: the tick computes each zone's local time once and walks its
-- users through this index; checking a user's time zone looks here before the (slow)
-- pg_timezone_names.
create index users_time_zone_idx on public.users (time_zone, id);
