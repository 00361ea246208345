-- Search documents per conversation instead of per message: one tsvector holding the subject
-- (weight A) and every message body of the thread, with a GIN index. A query's words may then
-- be spread over the thread (as agents expect), and the planner can either walk the inbox
-- newest first checking each conversation, or collect the matches from the index, whichever
-- its statistics say is cheaper. The store rewrites the vector whenever the messages change.
ALTER TABLE messages DROP COLUMN search;
ALTER TABLE conversations DROP COLUMN search;
ALTER TABLE conversations ADD COLUMN search tsvector NOT NULL DEFAULT ''::tsvector;

UPDATE conversations c SET search =
    setweight(to_tsvector('english', coalesce(c.subject, '')), 'A')
    || to_tsvector('english', coalesce((SELECT string_agg(m.body, chr(10)) FROM messages m WHERE m.conversation_id = c.id), ''));

CREATE INDEX conversations_search ON conversations USING GIN (search);
