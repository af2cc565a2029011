//! The `trustpath` binary: see `trustpath --help` and `src/cli.rs`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    trustpath::cli::main().await
}
