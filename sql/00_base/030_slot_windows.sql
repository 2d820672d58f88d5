-- When a weekly slot is open, as instants: the pieces of time, between p_from and p_to, in
-- which the owner's local clock (at whole seconds) shows the slot's weekday between its start
-- and end. Daylight saving time is why this is more than `(date + start_time) at time zone`:
--   clocks go forward: local times in the gap do not exist. A slot wholly inside it does not
--     open that day (a row with opens_at NULL says so); one that starts inside it opens when
--     the clock resumes; one across it is shorter.
--   clocks go back: local times in the repeated hour happen twice. A slot there is open both
--     times (two pieces, or one longer piece); its quota per local date holds across both.
-- closes_at is exclusive: the first instant after the window (end_time + 1 second, local).

create or replace function upload_scheduler_private.slot_windows(
  p_time_zone text,
  p_day text,
  p_start time,
  p_end time,
  p_from timestamptz,
  p_to timestamptz
)
returns table (local_date date, opens_at timestamptz, closes_at timestamptz, note text)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_isodow int := array_position(array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'], p_day);
  v_date date;
  v_last date := (p_to at time zone p_time_zone)::date + 1;
  v_day_start timestamptz;
  v_day_end timestamptz;
  v_o1 interval;
  v_o2 interval;
  v_lo bigint;
  v_hi bigint;
  v_mid bigint;
  v_switch timestamptz;
  v_ls timestamp;
  v_le timestamp;
  v_a_open timestamptz;
  v_a_close timestamptz;
  v_b_open timestamptz;
  v_b_close timestamptz;
  v_gap_from timestamp;
  v_gap_to timestamp;
  v_note text;
begin
  v_date := (p_from at time zone p_time_zone)::date - 1;
  -- The first date on the slot's weekday.
  v_date := v_date + ((v_isodow - extract(isodow from v_date)::int + 7) % 7);
  while v_date <= v_last loop
    v_ls := v_date + p_start;
    v_le := v_date + p_end + interval '1 second';
    v_day_start := v_date::timestamp at time zone p_time_zone;
    v_day_end := (v_date + 1)::timestamp at time zone p_time_zone;
    v_o1 := upload_scheduler_private.utc_offset(p_time_zone, v_day_start);
    v_o2 := upload_scheduler_private.utc_offset(p_time_zone, v_day_end - interval '1 second');
    v_note := null;

    if v_o1 = v_o2 then
      v_a_open := (v_ls - v_o1) at time zone 'UTC';
      v_a_close := (v_le - v_o1) at time zone 'UTC';
      v_b_open := null;
    else
      -- The instant the offset changes, to the second (zone transitions are on whole seconds).
      v_lo := extract(epoch from v_day_start)::bigint;
      v_hi := extract(epoch from v_day_end)::bigint - 1;
      while v_hi - v_lo > 1 loop
        v_mid := (v_lo + v_hi) / 2;
        if upload_scheduler_private.utc_offset(p_time_zone, to_timestamp(v_mid)) = v_o1 then
          v_lo := v_mid;
        else
          v_hi := v_mid;
        end if;
      end loop;
      v_switch := to_timestamp(v_hi);
      -- Before the switch the local clock runs with v_o1, after it with v_o2.
      v_a_open := greatest(v_day_start, (v_ls - v_o1) at time zone 'UTC');
      v_a_close := least(v_switch, (v_le - v_o1) at time zone 'UTC');
      v_b_open := greatest(v_switch, (v_ls - v_o2) at time zone 'UTC');
      v_b_close := least(v_day_end, (v_le - v_o2) at time zone 'UTC');
      if v_b_open >= v_b_close then
        v_b_open := null;
      end if;
      if v_a_open >= v_a_close then
        v_a_open := v_b_open;
        v_a_close := v_b_close;
        v_b_open := null;
      end if;
      if v_b_open = v_a_close then
        v_a_close := v_b_close;
        v_b_open := null;
      end if;

      v_gap_from := (v_switch at time zone 'UTC') + least(v_o1, v_o2);
      v_gap_to := (v_switch at time zone 'UTC') + greatest(v_o1, v_o2);
      if v_o2 > v_o1 then
        -- Clocks go forward: local times v_gap_from .. v_gap_to do not exist.
        if v_ls >= v_gap_from and v_le <= v_gap_to then
          v_note := format('does not open on %s: its local times do not exist that day (clocks go forward from %s to %s)',
                           v_date, to_char(v_gap_from, 'HH24:MI'), to_char(v_gap_to, 'HH24:MI'));
          v_a_open := null;
          v_a_close := null;
        elsif v_ls >= v_gap_from and v_ls < v_gap_to then
          v_note := format('opens at %s on %s, when the clocks go forward (%s does not exist that day)',
                           to_char(v_gap_to, 'HH24:MI'), v_date, to_char(p_start, 'HH24:MI:SS'));
        elsif v_ls < v_gap_to and v_le > v_gap_from then
          v_note := format('shortened on %s: local times %s to %s do not exist that day (clocks go forward)',
                           v_date, to_char(v_gap_from, 'HH24:MI'), to_char(v_gap_to, 'HH24:MI'));
        end if;
      elsif v_ls < v_gap_to and v_le > v_gap_from then
        -- Clocks go back: local times v_gap_from .. v_gap_to happen twice.
        v_note := format('open %s on %s: local times %s to %s happen twice that day (clocks go back); its quota for the date holds across both',
                         case when v_b_open is null then 'longer' else 'twice' end,
                         v_date, to_char(v_gap_from, 'HH24:MI'), to_char(v_gap_to, 'HH24:MI'));
      end if;
    end if;

    if v_a_open is null then
      if v_note is not null and v_date >= (p_from at time zone p_time_zone)::date and v_date <= (p_to at time zone p_time_zone)::date then
        return query select v_date, null::timestamptz, null::timestamptz, v_note;
      end if;
    else
      if v_a_close > p_from and v_a_open < p_to then
        return query select v_date, v_a_open, v_a_close, v_note;
      end if;
      if v_b_open is not null and v_b_close > p_from and v_b_open < p_to then
        return query select v_date, v_b_open, v_b_close, v_note;
      end if;
    end if;
    v_date := v_date + 7;
  end loop;
end;
$$;

comment on function upload_scheduler_private.slot_windows(text, text, time, time, timestamptz, timestamptz) is
  E'The pieces of time between p_from and p_to in which a weekly slot (weekday, start, end, in p_time_zone) is open: local_date, opens_at, closes_at (exclusive) and a note when daylight saving time changes the window that day (opens_at NULL: it does not open).';
