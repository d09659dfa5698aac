-- Schema 2: every derived table is append-only like the log it is derived from (issue 11
-- item 9). Start-up also checks each row against the log entries (trustee-node/src/db.rs).

CREATE TRIGGER IF NOT EXISTS cancellations_no_update BEFORE UPDATE ON cancellations
BEGIN SELECT RAISE(ABORT, 'cancellations are permanent'); END;
CREATE TRIGGER IF NOT EXISTS warrants_no_update BEFORE UPDATE ON warrants
BEGIN SELECT RAISE(ABORT, 'warrants seen are append-only'); END;
CREATE TRIGGER IF NOT EXISTS warrants_no_delete BEFORE DELETE ON warrants
BEGIN SELECT RAISE(ABORT, 'warrants seen are append-only'); END;
