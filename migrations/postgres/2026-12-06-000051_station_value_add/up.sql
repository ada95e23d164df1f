-- Issue 26: a write transaction's last statements book the running sums it noted (a station's
-- outstanding value, `db::deferred`) and then commit. On PostgreSQL each was a round trip: the
-- booking's answer travelled back to the service, whose thread had to be scheduled again to send
-- `COMMIT`, and the station's row stayed locked all that time, every other request of the
-- station waiting behind it. This function books one increment and refuses, raising an error,
-- where the statement-by-statement path refused by the rows it found: so the bookings and the
-- `COMMIT` go to the server as one batch, and the first refusal stops the batch before the
-- `COMMIT`, the transaction then rolled back whole.
--
-- p_cap: the most the row's sum may be as the booking finds it (NULL: no ceiling). A row
-- whose sum is above it is a race lost to another transaction: SQLSTATE 40001, the
-- serialization failure on which the service runs the transaction again. A missing row: P0002.
CREATE FUNCTION echelon_station_value_add(p_id BIGINT, p_delta BIGINT, p_cap BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE station_values SET outstanding_minor = outstanding_minor + p_delta
     WHERE id = p_id AND (p_cap IS NULL OR outstanding_minor <= p_cap);
    IF NOT FOUND THEN
        IF p_cap IS NOT NULL THEN
            RAISE EXCEPTION 'the outstanding_minor of station_values % would pass its ceiling; run the transaction again', p_id
                USING ERRCODE = '40001';
        END IF;
        RAISE EXCEPTION 'station_values has no row %', p_id USING ERRCODE = 'P0002';
    END IF;
END $$;
