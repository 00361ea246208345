-- A chat message is sent once stored (the widget reads the store), so it no longer waits for
-- a `chat.deliver` job: those still queued are done, and their messages sent.
UPDATE messages SET delivery_status = 'sent'
WHERE delivery_status = 'pending'
  AND conversation_id IN (SELECT id FROM conversations WHERE channel = 'chat');
DELETE FROM jobs WHERE kind = 'chat.deliver' AND status IN ('queued', 'running');
