-- name: scopes_held
-- description: Who holds which scopes at which resource: for each (subject, client, resource), the scopes of the newest successfully issued token, its issuer and when it expires.
-- param: subject VARCHAR optional Only this subject.
-- param: resource VARCHAR optional Only this resource.
SELECT subject, client_id, resource, issuer, scopes_granted, time AS issued_at, token_expires_at, token_id
FROM events
WHERE kind = 'token.issue' AND outcome = 'success'
  AND ($subject IS NULL OR subject = $subject)
  AND ($resource IS NULL OR resource = $resource)
QUALIFY row_number() OVER (PARTITION BY subject, client_id, resource ORDER BY time DESC, event_id DESC) = 1
ORDER BY subject, resource, client_id;
