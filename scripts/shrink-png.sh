#!/usr/bin/env bash
# Shrinks screenshots in place: pngquant turns each PNG into a 256-colour palette PNG (a third of
# the size, no difference to see on an editor's screenshot), and leaves a file alone when the result
# would be larger or look worse. The README's screenshots (docs/*.png) ship in the .vsix, which
# scripts/check-vsix.sh holds to 3 MiB; the E2E test shrinks the screenshots it takes this way.
#   usage: scripts/shrink-png.sh FILE.png...
# Needs pngquant (Debian: apt-get install pngquant; scripts/setup-machine.sh installs it).
set -euo pipefail
if ! command -v pngquant >/dev/null 2>&1; then
  echo "shrink-png: pngquant is not installed (apt-get install pngquant): the screenshots stay as they are" >&2
  exit 1
fi
for file in "$@"; do
  # --skip-if-larger: exit 98; --quality below its minimum: exit 99. Both leave the file as it was.
  pngquant --quality=70-95 --speed 1 --strip --skip-if-larger --force --output "$file" -- "$file" || {
    code=$?
    [ "$code" -eq 98 ] || [ "$code" -eq 99 ] || { echo "shrink-png: pngquant failed on $file (exit $code)" >&2; exit "$code"; }
  }
done
