-- One chain record (src/integrity/chain.rs, Link).
INSERT INTO chain (seq, kind, batch_id, recorded_at, events, events_sha256, rejected,
                   rejected_sha256, events_before, rejected_before, prev_sha256, sha256)
VALUES ($1, $2, $3::UUID, $4::TIMESTAMPTZ, $5, $6, $7, $8, $9::TIMESTAMPTZ, $10::TIMESTAMPTZ,
        $11, $12);
