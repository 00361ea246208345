-- The chat assistant's job is named after the bot, `assistant.answer` (`assist` was the
-- intent model's word). Jobs of the old word are renamed whatever their status: queued and
-- running ones run under the new word, dead ones can be retried, done ones read the same in
-- the list. Their dedupe keys (`answer:<message id>`) do not name the kind.
UPDATE jobs SET kind = 'assistant.answer' WHERE kind = 'assist.answer';
