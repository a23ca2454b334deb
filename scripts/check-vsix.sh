#!/usr/bin/env bash
# Holds the packaged extension to its size: at most 3 MiB (3,145,728 bytes). Prints the size; when
# it is over, also the largest files in the package (README screenshots that skipped
# scripts/shrink-png.sh, an unminified bundle, a file .vscodeignore should leave out).
#   usage: scripts/check-vsix.sh [path.vsix]   (default dist-vsix/nex-functions.vsix)
set -euo pipefail
cd "$(dirname "$0")/.."
vsix=${1:-dist-vsix/nex-functions.vsix}
limit=3145728
size=$(stat -c %s "$vsix")
if [ "$size" -le "$limit" ]; then
  echo "vsix: $vsix is $size bytes, within 3 MiB ($limit bytes)"
  echo "vsix: 1 passed, 0 failed"
  exit 0
fi
echo "vsix: $vsix is $size bytes, over 3 MiB ($limit bytes) by $((size - limit)); its largest files (compressed size, name):" >&2
if command -v unzip >/dev/null 2>&1; then
  unzip -lv "$vsix" | awk '$1 ~ /^[0-9]+$/ && NF >= 8 { print $3, $8 }' | sort -rn | head -10 >&2
fi
echo "vsix: 0 passed, 1 failed"
exit 1
