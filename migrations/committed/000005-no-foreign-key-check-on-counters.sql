--! Previous: sha1:cce683706d729e66cc1aae65ca9aacaa801fff16
--! Hash: sha1:86418b749a439de2c6ca88f03d0ae95647bb6ecc
--! Message: no foreign key check on counters

-- slot_day_counts.slot_id loses its foreign key too: the first claim of each slot on each day
-- inserts a counter row and then raises it in the same transaction, and each of the two
-- checked the key (10,000 claims: 176 ms of a 640 ms tick). The statement trigger
-- tg_upload_schedules__release_videos (sql/) deletes the counters of deleted slots, as
-- ON DELETE CASCADE did.
alter table upload_scheduler.slot_day_counts drop constraint slot_day_counts_slot_id_fkey;
