//! The `trustpath` binary: see `trustpath --help` and `src/cli/mod.rs`.

/// jemalloc for Rust and, through its unprefixed `malloc`, for DuckDB's C++ too. Under
/// glibc's allocator DuckDB's worker threads kept hundreds of MB of freed memory resident
/// beside its buffer pool (BENCHMARKS.md, docs/benchmark-notes.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (its `malloc_conf` symbol): a background thread returns freed pages to
/// the system within a second, instead of each arena keeping them for ten. `MALLOC_CONF` in
/// the environment still overrides these.
#[unsafe(no_mangle)]
pub static malloc_conf: &u8 = &b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];

#[tokio::main]
async fn main() -> std::process::ExitCode {
    trustpath::cli::main().await
}
