--! Previous: sha1:68e5d70c7368b573e26b52e914b701ca2ea9761f
--! Hash: sha1:f4734e3155d0d810292aecf0057dad920f90cad1
--! Message: room for HOT updates

-- A tick rewrites the due row of each user it looks at (most often with the value it already
-- has) and raises the counters it has just created. With room left on each page, PostgreSQL
-- makes those updates HOT: no new index entry, fewer pages written after a checkpoint. Applies
-- to pages written from now on; `vacuum full` on these two tables, in a quiet moment, repacks
-- an existing installation.
alter table upload_scheduler.user_due set (fillfactor = 70);
alter table upload_scheduler.slot_day_counts set (fillfactor = 50);
