#!/usr/bin/env bash
# The test command: static checks, then every test, the kernel and fuzz
# seed corpora included. Run as root (CI does) for the tests that load
# filters into the running kernel to run for real.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"
unformatted=$(gofmt -l . | grep -v '^vendor/' || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go test -count=1 ./...
