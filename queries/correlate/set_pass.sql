-- The batches of this correlation pass (setup.sql). $1: JSON array of batch ids.
INSERT INTO correlating_batches SELECT unnest($1::JSON::VARCHAR[])::UUID;
