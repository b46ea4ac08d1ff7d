#!/usr/bin/env bash
# Resolve the Neo4j test-server artifacts named in pom.xml from Maven Central
# (into the local Maven repository, ~/.m2 by default) and write their
# classpath to tools/neo4j/.classpath.
#
# Idempotent: does nothing when .classpath exists, is newer than pom.xml and
# every jar it lists is still present. Pass --force to rebuild regardless.
# Extra arguments after --force (or on their own) are handed to mvn, e.g.
#   tools/neo4j/build-classpath.sh -Dmaven.repo.local=/some/where
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="$here/pom.xml"
out="$here/.classpath"

force=0
if [[ "${1:-}" == "--force" ]]; then
  force=1
  shift
fi

classpath_ok() {
  [[ -s "$out" && "$out" -nt "$pom" ]] || return 1
  local jar
  local IFS=':'
  # shellcheck disable=SC2013
  for jar in $(cat "$out"); do
    [[ -f "$jar" ]] || return 1
  done
  return 0
}

if [[ $force -eq 0 ]] && classpath_ok; then
  exit 0
fi

command -v mvn >/dev/null 2>&1 || { echo "build-classpath.sh: mvn not found on PATH" >&2; exit 1; }

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT

# -B: batch mode; -q: only errors. Maven 3.8 still prints bare ANSI reset
# codes even in quiet mode, so strip those (and the blank lines left behind).
mvn -B -q -f "$pom" "$@" \
  dependency:build-classpath \
  -Dmdep.outputFile="$tmp" \
  -Dmdep.includeScope=runtime 2>&1 \
  | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2

[[ -s "$tmp" ]] || { echo "build-classpath.sh: maven wrote an empty classpath" >&2; exit 1; }
mv -f "$tmp" "$out"
trap - EXIT
