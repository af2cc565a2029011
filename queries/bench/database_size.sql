-- The store file's blocks: in use, and freed by checkpoints but still inside the file
-- (DuckDB reuses them, and cuts off only those at the end of the file).
SELECT used_blocks * block_size AS used_bytes,
       free_blocks * block_size AS free_bytes
FROM pragma_database_size()
WHERE database_name = current_database();
