-- The first and last batch of the pass (setup.sql), as the pass's queries compare them.
SELECT min(batch_id)::VARCHAR, max(batch_id)::VARCHAR FROM correlating_batches;
