-- No index on the message sender (no query starts from it; the search's sender filter applies
-- to the rows the text matched): one index less to maintain per message. The SQLite side of
-- this migration also slims its search index; the PostgreSQL one is unchanged.
DROP INDEX rm_messages_sender;
