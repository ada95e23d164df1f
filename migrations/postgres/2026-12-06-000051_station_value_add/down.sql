DROP FUNCTION echelon_station_value_add(BIGINT, BIGINT, BIGINT);
