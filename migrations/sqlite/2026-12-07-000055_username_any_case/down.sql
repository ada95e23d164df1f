DROP INDEX users_username_any_case;
