#!/bin/sh
# Builds the metrics server, statically linked against glibc, to OUT.
#
#   examples/metrics/build.sh OUT
#
# Needs gcc and glibc's static library (Debian: gcc libc6-dev). CC and
# CFLAGS from the environment are added to, not replaced: the warnings stay
# errors.
set -eu
if [ "$#" -ne 1 ]; then
  echo "usage: $0 OUT" >&2
  exit 2
fi
dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$(dirname "$1")"
${CC:-gcc} -static -O2 -Wall -Wextra -Werror ${CFLAGS:-} -o "$1" "$dir/server.c"
