DROP TABLE station_value_slots;
