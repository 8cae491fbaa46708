#!/bin/bash
# check-large.sh DUMP EXPECTED: loads DUMP (made by gen-large.py) into a namespace of our own with iptables-restore -c,
# saves it back with iptables-save -c and checks the two are equal apart from the "# Generated/Completed" lines,
# so the line numbers in EXPECTED are those of a real iptables-save. Namespace nflb-r-lint-*, removed on exit.
set -euo pipefail
dump=$1; expected=$2
ns=nflb-r-lint-large-$$
out=$(mktemp)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -f "$out"; }
trap cleanup EXIT INT TERM
ip netns add "$ns"
for s in $(sed -n 's/^# ipsets the dump refers to (create them before loading it): //p' "$expected"); do
  timeout 10 ip netns exec "$ns" ipset create "$s" hash:net
done
timeout 120 ip netns exec "$ns" iptables-restore -c < "$dump"
timeout 120 ip netns exec "$ns" iptables-save -c > "$out"
if diff <(grep -v '^# ' "$dump") <(grep -v '^# ' "$out") > /dev/null; then
  echo "same as iptables-save prints: $(grep -c '^\[' "$dump") rules"
else
  diff <(grep -v '^# ' "$dump") <(grep -v '^# ' "$out") | head -20
  exit 1
fi
