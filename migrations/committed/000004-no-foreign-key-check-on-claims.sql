--! Previous: sha1:5610efe311153f18dd978788eab3553105067a47
--! Hash: sha1:cce683706d729e66cc1aae65ca9aacaa801fff16
--! Message: no foreign key check on claims

-- videos.slot_id loses its foreign key. Checking it cost about 10 µs on every claim (a KEY
-- SHARE lock and a lookup of the slot, for a slot id the claim has just read itself), a third
-- of a tick's time. A slot that is deleted still clears it: the statement trigger
-- tg_upload_schedules__release_videos (sql/) sets videos.slot_id to NULL, as ON DELETE SET
-- NULL did.
alter table public.videos drop constraint videos_slot_id_fkey;
