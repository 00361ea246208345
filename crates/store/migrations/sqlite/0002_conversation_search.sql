-- Search documents per conversation instead of per message: the subject and every message
-- body of a thread in one FTS5 row whose rowid is the conversation's seq. A query's words may
-- then be spread over the thread (as agents expect), and a query touches one index entry per
-- conversation instead of one per message. The store rewrites a conversation's row whenever
-- its messages change; the table keeps no copy of the text (contentless, with deletes).
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE messages_fts;
DROP TRIGGER conversations_fts_insert;
DROP TRIGGER conversations_fts_delete;
DROP TRIGGER conversations_fts_update;
DROP TABLE conversations_fts;

CREATE VIRTUAL TABLE conversation_search USING fts5(
    subject, body, content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

INSERT INTO conversation_search (rowid, subject, body)
SELECT c.seq, coalesce(c.subject, ''),
       coalesce((SELECT group_concat(m.body, char(10)) FROM messages m WHERE m.conversation_id = c.id), '')
FROM conversations c;

CREATE TRIGGER conversation_search_delete AFTER DELETE ON conversations BEGIN
    DELETE FROM conversation_search WHERE rowid = old.seq;
END;
