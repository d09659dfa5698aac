-- Schema 1: the audit log, its tree heads, release counters, warrants seen, cancellations.
-- Nothing updates or deletes a row of the log: triggers refuse it.

CREATE TABLE log_entries (
    seq       INTEGER PRIMARY KEY,          -- leaf index, from 0, no gaps
    kind      TEXT    NOT NULL,             -- setup | warrant-seen | release | refusal | cancellation
    time      INTEGER NOT NULL,             -- Unix seconds
    entry     BLOB    NOT NULL,             -- canonical bytes (escrow_core::audit::LogEntry::to_bytes)
    leaf_hash BLOB    NOT NULL              -- SHA-256(0x00 || entry)
) STRICT;

-- One row per committed batch: the RFC 9162 tree head after it.
CREATE TABLE tree_heads (
    size  INTEGER PRIMARY KEY,
    root  BLOB    NOT NULL,
    time  INTEGER NOT NULL
) STRICT;

-- Release counters: one row per distinct ciphertext released under a warrant id.
CREATE TABLE releases (
    warrant_id  TEXT    NOT NULL,
    ciphertext  BLOB    NOT NULL,
    first_seq   INTEGER NOT NULL REFERENCES log_entries(seq),
    PRIMARY KEY (warrant_id, ciphertext)
) STRICT;

-- Warrants that passed the policy, with the envelope as received (for later disclosure).
CREATE TABLE warrants (
    digest      BLOB    PRIMARY KEY,
    warrant_id  TEXT    NOT NULL,
    envelope    TEXT    NOT NULL,
    first_seq   INTEGER NOT NULL REFERENCES log_entries(seq)
) STRICT;

-- Accepted cancellations: the warrant id is dead for good.
CREATE TABLE cancellations (
    warrant_id  TEXT    PRIMARY KEY,
    digest      BLOB    NOT NULL,
    envelope    TEXT    NOT NULL,
    seq         INTEGER NOT NULL REFERENCES log_entries(seq)
) STRICT;

CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER tree_heads_no_update BEFORE UPDATE ON tree_heads
BEGIN SELECT RAISE(ABORT, 'tree heads are append-only'); END;
CREATE TRIGGER tree_heads_no_delete BEFORE DELETE ON tree_heads
BEGIN SELECT RAISE(ABORT, 'tree heads are append-only'); END;
CREATE TRIGGER releases_no_update BEFORE UPDATE ON releases
BEGIN SELECT RAISE(ABORT, 'release counters only grow'); END;
CREATE TRIGGER releases_no_delete BEFORE DELETE ON releases
BEGIN SELECT RAISE(ABORT, 'release counters only grow'); END;
CREATE TRIGGER cancellations_no_delete BEFORE DELETE ON cancellations
BEGIN SELECT RAISE(ABORT, 'cancellations are permanent'); END;
