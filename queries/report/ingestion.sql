-- Report: what each collector committed in [$1, $2) (by commit time), and the longest
-- time without a commit: when trustpath itself heard nothing.
WITH commits AS (
    SELECT collector, committed_at, records, accepted, rejected,
           committed_at::TIMESTAMP - lag(committed_at::TIMESTAMP) OVER (PARTITION BY collector ORDER BY committed_at) AS silence
    FROM ingest_log
    WHERE committed_at >= $1::TIMESTAMPTZ AND committed_at < $2::TIMESTAMPTZ
)
SELECT collector,
       count(*) AS batches,
       sum(records) AS records,
       sum(accepted) AS accepted,
       sum(rejected) AS rejected,
       strftime(min(committed_at)::TIMESTAMP, '%Y-%m-%d %H:%M') AS first_commit,
       strftime(max(committed_at)::TIMESTAMP, '%Y-%m-%d %H:%M') AS last_commit,
       coalesce(max(silence)::VARCHAR, '') AS longest_gap
FROM commits
GROUP BY collector
ORDER BY collector;
