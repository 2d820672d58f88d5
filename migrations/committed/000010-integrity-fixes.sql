--! Previous: sha1:bf3a98ea09107675ea787cc7352e7f5b586f2498
--! Hash: sha1:478480f442b61c145f4cc72ddeb8b28aa60216e4
--! Message: integrity fixes

-- Found by a hostile trial of the integrity work.

-- A deleted slot's uses are inherited by any slot created later in its window, the same id
-- included (a moved or switched-off slot keeps its own counters, so it never inherits its own).
alter table upload_scheduler.retired_slot_uses add column deleted boolean not null default false;
comment on column upload_scheduler.retired_slot_uses.deleted is
  E'True when the slot was deleted (anyone may inherit the uses, a slot re-created with its id too); false when it moved or was switched off (it keeps its own counters).';

-- The transactions running a claim, each for the length of the claim. The trigger on videos
-- reads it to know that the claim holds its users' due rows, which serialise it with slot
-- changes; any other writer of counted videos locks the slots instead. Only the scheduler's
-- functions can write it (no role is granted it); unlogged: nobody but the claiming
-- transaction ever sees a row.
create unlogged table upload_scheduler.claiming (
  txid xid8 primary key
);
comment on table upload_scheduler.claiming is
  E'Internal: the transaction ids of claims in progress (a row lives only inside its claim''s transaction).';
