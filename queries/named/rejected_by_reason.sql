-- name: rejected_by_reason
-- description: Rejected input grouped by reason and format: how much, from how many origins, first and last time.
-- param: from TIMESTAMPTZ optional Rejected at or after this time.
SELECT
    reason,
    format,
    count(*) AS records,
    count(DISTINCT origin) AS origins,
    min(received_at) AS first_seen,
    max(received_at) AS last_seen
FROM rejected
WHERE $from IS NULL OR received_at >= $from::TIMESTAMPTZ
GROUP BY reason, format
ORDER BY records DESC, reason;
