UPDATE station_values v SET outstanding_minor = v.outstanding_minor
    + COALESCE((SELECT SUM(s.used_minor) FROM station_value_slots s WHERE s.station_id = v.id), 0);
DROP TABLE station_value_slots;
CREATE OR REPLACE FUNCTION echelon_station_value_add(p_id BIGINT, p_delta BIGINT, p_cap BIGINT)
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
