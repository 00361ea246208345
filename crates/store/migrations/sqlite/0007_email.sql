-- The email channel: how mail finds its thread, how a retried delivery is recognised, and
-- what an agent sees beside a message's new text.

-- A conversation's reply token: what follows `+` in the Reply-To address of the mail sent
-- for it, so a reply whose threading headers were lost still finds its thread. Random, so
-- nobody can write their way into another shopper's conversation by guessing it.
ALTER TABLE conversations ADD COLUMN reply_token TEXT;
UPDATE conversations SET reply_token = lower(hex(randomblob(10)));
CREATE UNIQUE INDEX conversations_reply_token ON conversations(reply_token);

-- What a message's text leaves out (the quoted history and signature of an email), the
-- address it came from, and why its delivery failed.
ALTER TABLE messages ADD COLUMN quoted TEXT;
ALTER TABLE messages ADD COLUMN sender_address TEXT;
ALTER TABLE messages ADD COLUMN delivery_error TEXT;

-- Every email that is (or belongs to) a message, in and out, keyed by its Message-ID (or,
-- for mail without one, a digest of its bytes): a sender retrying a delivery we already
-- stored finds its key taken, and a reply's In-Reply-To/References find their thread
-- through the message, which moves with a merge. `reply_address` is where answers to an
-- inbound mail go (its Reply-To, else From); `reference_chain` its References and own id,
-- for the References of our answer; `raw_key` names the whole message in file storage.
CREATE TABLE email_messages (
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    message_key     TEXT NOT NULL,
    message_id      TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    reply_address   TEXT,
    reference_chain TEXT NOT NULL DEFAULT '',
    raw_key         TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (direction, message_key)
);
CREATE INDEX email_messages_key ON email_messages(message_key);
CREATE INDEX email_messages_message ON email_messages(message_id);

-- When each sender was last sent an automatic acknowledgement: at most one an hour, so two
-- auto-responders can never keep each other busy.
CREATE TABLE email_acknowledgements (
    address TEXT PRIMARY KEY,
    sent_at INTEGER NOT NULL
);

-- Deliveries are queued per channel now (`email.deliver`, …), each channel running its own.
UPDATE jobs SET kind = coalesce(
    (SELECT c.channel || '.deliver' FROM conversations c WHERE c.id = json_extract(jobs.payload, '$.conversation_id')),
    kind)
WHERE kind = 'message.deliver';
