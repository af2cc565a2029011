-- name: client_documents
-- description: Clients and the document hashes they presented over time: one row per (client, hash) with when it was first and last seen and how often, newest first. A client with more than one row changed its metadata document.
-- param: client_id VARCHAR optional Only this client id.
-- param: from TIMESTAMPTZ optional Events at or after this time.
-- param: to TIMESTAMPTZ optional Events before this time.
SELECT
    client_id,
    client_doc_sha256,
    any_value(client_registration) AS registration,
    min(time) AS first_seen,
    max(time) AS last_seen,
    count(*) AS events,
    any_value(client_redirect_uris) AS redirect_uris
FROM events
WHERE client_doc_sha256 IS NOT NULL
  AND ($client_id IS NULL OR client_id = $client_id)
  AND ($from IS NULL OR time >= $from::TIMESTAMPTZ)
  AND ($to IS NULL OR time < $to::TIMESTAMPTZ)
GROUP BY client_id, client_doc_sha256
ORDER BY client_id, first_seen DESC;
