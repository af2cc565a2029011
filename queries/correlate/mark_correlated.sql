-- Records that the correlation has seen the pass's batches (in the pass's transaction).
INSERT INTO correlated_batches SELECT batch_id FROM correlating_batches;
