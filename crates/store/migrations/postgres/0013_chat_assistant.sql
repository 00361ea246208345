-- The virtual assistant answers a chat until it hands over to the team (or an agent takes
-- it); it counts the answers in a row it could not give, and hands over at the second.
ALTER TABLE chat_sessions ADD COLUMN assistant BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE chat_sessions ADD COLUMN misses BIGINT NOT NULL DEFAULT 0;
