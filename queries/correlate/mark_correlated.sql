-- Records that the correlation has seen the batch (in the batch's transaction).
-- $1: batch id.
INSERT INTO correlated_batches VALUES ($1::UUID);
