-- Every message from a shopper carries the intent the assistant read in it; the
-- conversation keeps the latest one that was clear.
ALTER TABLE messages ADD COLUMN intent TEXT;
ALTER TABLE messages ADD COLUMN intent_confidence REAL;
