-- name: stats
-- description: How much the store holds: events, rejected records, committed batches,
-- and the newest event time.
SELECT
    (SELECT count(*) FROM events) AS events,
    (SELECT count(*) FROM rejected) AS rejected,
    (SELECT count(*) FROM ingest_log) AS batches,
    (SELECT coalesce(sum(duplicates), 0) FROM ingest_log)::BIGINT AS duplicates,
    (SELECT strftime(max(time)::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ') FROM events) AS newest_event;
