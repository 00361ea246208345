-- A shopper who left (or gave) an email address and asked for replies there: the team's
-- answers in the chat go to that address too, so the conversation continues by email.
ALTER TABLE chat_sessions ADD COLUMN email_replies BOOLEAN NOT NULL DEFAULT FALSE;
