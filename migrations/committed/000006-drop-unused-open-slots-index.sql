--! Previous: sha1:86418b749a439de2c6ca88f03d0ae95647bb6ecc
--! Hash: sha1:395a9cadf2c9c37d499702720f952474ecb5c536
--! Message: drop unused open-slots index

-- upload_schedules_open_idx served the first open_slots, which scanned every slot open at a
-- weekday and time. open_slots now walks each time zone's users and probes
-- upload_schedules_user_day_idx; nothing reads the old index, and every slot write kept it up.
drop index public.upload_schedules_open_idx;
