-- A lifecycle change touches the alert's row (see store/alerts.rs). $1 alert id, $2 now.
UPDATE alerts SET updated_at = $2::TIMESTAMPTZ WHERE alert_id = $1;
