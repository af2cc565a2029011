-- name: stats
-- description: How much the store holds: events, rejected records, committed batches,
-- connections (and how many have a violated link), the newest event time, and committed
-- batches whose connections are not brought up to date yet (correlation deferred under a
-- burst, `correlate.max_lag`).
SELECT
    (SELECT count(*) FROM events) AS events,
    (SELECT count(*) FROM rejected) AS rejected,
    (SELECT count(*) FROM ingest_log) AS batches,
    (SELECT coalesce(sum(duplicates), 0) FROM ingest_log)::BIGINT AS duplicates,
    (SELECT count(*) FROM connections) AS connections,
    (SELECT count(*) FROM connections WHERE verdict = 'violated') AS violated_connections,
    (SELECT strftime(max(time)::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ') FROM events) AS newest_event,
    (SELECT count(*) FROM ingest_log l
     WHERE l.accepted > 0
       AND NOT EXISTS (SELECT 1 FROM correlated_batches c WHERE c.batch_id = l.batch_id))
        AS uncorrelated_batches;
