-- The shop's own wording for the chat assistant's replies, by reply key (`handover.asked`,
-- `wait.offline`, …). A reply without a row is said in our wording; the keys and their
-- defaults live in the assistant's code, so a row names a key that code knows.
CREATE TABLE assistant_replies (
    key        TEXT PRIMARY KEY,
    template   TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
