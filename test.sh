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
staticcheck=$(command -v staticcheck || echo "$(go env GOPATH)/bin/staticcheck")
if [ -x "$staticcheck" ]; then
  "$staticcheck" ./...
elif [ "${CI:-}" = true ]; then
  echo "staticcheck is missing: .ci/run installs it"; exit 1
else
  echo "staticcheck not installed (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2); skipping it"
fi
go test -count=1 -timeout 25m ./...
# The benchmark is a module of its own (cgo, libseccomp-dev): vet, check
# and test it too.
(cd bench && go vet ./... && if [ -x "$staticcheck" ]; then "$staticcheck" ./...; fi && go test -count=1 ./...)
