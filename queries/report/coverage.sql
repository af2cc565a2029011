-- Report: which sources sent events in [$1, $2), how many, from when to when, and the
-- longest silence between two of their events (a gap in ingestion, or a quiet source).
WITH timed AS (
    SELECT source_type, coalesce(source_name, '') AS source_name, format, time,
           time::TIMESTAMP - lag(time::TIMESTAMP) OVER (PARTITION BY source_type, source_name, format ORDER BY time) AS silence
    FROM events
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
)
SELECT source_type,
       source_name,
       format,
       count(*) AS events,
       strftime((min(time))::TIMESTAMP, '%Y-%m-%d %H:%M') AS first_event,
       strftime((max(time))::TIMESTAMP, '%Y-%m-%d %H:%M') AS last_event,
       coalesce(max(silence)::VARCHAR, '') AS longest_gap,
       coalesce(strftime(arg_max(time, silence)::TIMESTAMP - max(silence), '%Y-%m-%d %H:%M'), '') AS gap_starts
FROM timed
GROUP BY ALL
ORDER BY max(silence) DESC NULLS LAST, source_type, source_name;
