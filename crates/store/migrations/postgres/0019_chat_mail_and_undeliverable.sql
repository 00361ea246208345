-- Where a chat session was opened from, as a digest of the client's address (never the
-- address): failed order proofs are counted per source as well.
ALTER TABLE chat_sessions ADD COLUMN source_digest TEXT;
-- How the order the assistant remembers was proved: 'email', or 'postcode', which is easier
-- to guess and shows the shopper less.
ALTER TABLE chat_sessions ADD COLUMN order_proof TEXT;
-- Whether the session's email address is the shopper's: vouched for by the shop, or proved
-- by a link mailed to it. Only such an address gets mail from the chat.
ALTER TABLE chat_sessions ADD COLUMN email_confirmed BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE chat_sessions SET email_confirmed = verified;

-- Links mailed to an address a shopper gave in a chat, kept by their token's digest; the
-- shopper follows one to prove the address is theirs, for replies by email or the transcript.
CREATE TABLE chat_email_confirmations (
    token_digest TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ
);

-- Mail a chat made us send (confirmation links, transcripts), by digests of the address it
-- went to and of the client that asked: a few a day each.
CREATE TABLE chat_mail_sent (
    address_digest TEXT NOT NULL,
    source_digest  TEXT NOT NULL,
    sent_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX chat_mail_sent_address ON chat_mail_sent (address_digest, sent_at);
CREATE INDEX chat_mail_sent_source ON chat_mail_sent (source_digest, sent_at);

-- Replies on channels nothing can send yet waited in the outbox for ever: they fail now,
-- saying why, and their jobs go.
UPDATE messages SET delivery_status = 'failed',
    delivery_error = 'Concierge cannot send these messages yet, so this one was not sent: answer the customer another way (email, or chat when they are on the site).'
WHERE delivery_status = 'pending'
  AND conversation_id IN (SELECT id FROM conversations
                          WHERE channel IN ('sms', 'whatsapp', 'messenger', 'instagram', 'phone'));
DELETE FROM jobs WHERE kind IN ('sms.deliver', 'whatsapp.deliver', 'messenger.deliver',
                                'instagram.deliver', 'phone.deliver', 'api.deliver')
  AND status IN ('queued', 'running');
