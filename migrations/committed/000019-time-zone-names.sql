--! Previous: sha1:49adaa2fc45083988454ab8b688f546ccbc4db95
--! Hash: sha1:d2b4e17ecb45bc378cbf264ddb9fe57db673b283
--! Message: time zone names

-- The IANA time zone names the scheduler accepts, kept in a table: pg_timezone_names reads the
-- server's tz database from disk at every call (about 20 ms), and a bulk insert of limits or
-- users in a zone no user had yet paid that once per row (20,000 limits: 6.5 minutes).
-- upload_scheduler_private.assert_known_time_zone asks this table first, by its primary key;
-- sql/ fills it (on every apply of its names file) from pg_timezone_names, and a name it lacks
-- (a zone the server's tz database gained since) is still looked up there.
create table if not exists upload_scheduler.time_zone_names (
  name text primary key
);

comment on table upload_scheduler.time_zone_names is
  E'The IANA time zone names the scheduler accepts (pg_timezone_names without the tz database''s plumbing), read once so that checking a zone is an index probe: assert_known_time_zone reads it first, pg_timezone_names only for a name missing here. Filled by sql/00_base/010_names.sql.';
