-- name: stats
-- description: How much the store holds: events, rejected records, committed batches,
-- connections (and how many have a violated link), and the newest event time.
SELECT
    (SELECT count(*) FROM events) AS events,
    (SELECT count(*) FROM rejected) AS rejected,
    (SELECT count(*) FROM ingest_log) AS batches,
    (SELECT coalesce(sum(duplicates), 0) FROM ingest_log)::BIGINT AS duplicates,
    (SELECT count(*) FROM connections) AS connections,
    (SELECT count(*) FROM connections WHERE verdict = 'violated') AS violated_connections,
    (SELECT strftime(max(time)::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ') FROM events) AS newest_event;
