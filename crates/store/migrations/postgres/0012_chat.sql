-- Live chat. A widget session is one browser's chat with the shop: its token is kept only as
-- a digest, and it reserves the id of its conversation, which is made with the first
-- message (a visitor who never writes leaves no empty conversation behind). A message the
-- widget sends again, because the acknowledgement was lost, is known by its client key and
-- stored once.
CREATE TABLE chat_sessions (
    id              TEXT PRIMARY KEY,
    token_digest    TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL UNIQUE,
    name            TEXT,
    email           TEXT,
    verified        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE chat_message_keys (
    session_id TEXT NOT NULL REFERENCES chat_sessions(id) ON DELETE CASCADE,
    client_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (session_id, client_key)
);
