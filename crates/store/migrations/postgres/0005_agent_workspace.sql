-- What the agent workspace needs: the live event log, canned replies, and merged threads.

-- Every change an open inbox or conversation view must see, in commit order (writers take an
-- advisory lock before inserting, so a sequence number is never seen before a smaller one).
-- Browsers resume after the last `seq` they saw, so a dropped socket loses nothing.
CREATE TABLE events (
    seq             BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    data            JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE canned_replies (
    id          TEXT PRIMARY KEY,
    shortcut    TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- A conversation merged into another keeps its row (old links still lead somewhere) and
-- points at the one that holds its messages now.
ALTER TABLE conversations ADD COLUMN merged_into_id TEXT REFERENCES conversations(id);
CREATE INDEX conversations_team ON conversations(team_id, last_activity_at);
CREATE INDEX conversations_waiting ON conversations(status, waiting_since);
-- The inbox's view counts are one pass over this index.
CREATE INDEX conversations_status_assignee ON conversations(status, assignee_id);
