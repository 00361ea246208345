-- The inbox's view counts, kept instead of counted: counting every open conversation on each
-- inbox page cost 20 ms at 100,000 of them. The index that served that count goes.
DROP INDEX conversations_status_assignee;

-- How many conversations each (status, assignee) holds, kept by the commands that move them
-- (under the event-order lock, so writers queue for these rows in one order), so the inbox's
-- view counts are a few rows to read, not a walk over every conversation. `assignee_id` is ''
-- for unassigned (a primary key cannot hold NULL).
CREATE TABLE inbox_counts (
    status      TEXT NOT NULL,
    assignee_id TEXT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (status, assignee_id)
);
INSERT INTO inbox_counts (status, assignee_id, n)
    SELECT status, coalesce(assignee_id, ''), count(*) FROM conversations GROUP BY 1, 2;
