-- A core return offered with the wrong old part is refused (422) and the loan line stays open,
-- never showing the recorded serial or production date. A production date is one day of a few
-- thousand: tried one by one, the refusals would give it away. So each line counts the wrong
-- old parts offered for it, and after five a station or technician may no longer try; an admin
-- records the core return, having looked at the part.
ALTER TABLE loan_lines ADD COLUMN core_mismatches INTEGER NOT NULL DEFAULT 0;
