#!/usr/bin/env bash
# Fetch the generator's real images and videos (Debian opencv-doc, the scikit-image wheel, and the training-only
# extras: plasma-workspace-wallpapers, mate-backgrounds, tuxpaint-stamps-default) into the asset cache.
# Idempotent: an existing cache (its sources.json) is kept; missing extras are added. Without registry access it writes procedural textures.
#   scripts/fetch_assets.sh [CACHE_DIR]    (default: $ASYMTRACK_ASSETS or ~/.cache/asymtrack_ros/assets)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
cd "$ROOT"
"$PYTHON" - "$@" <<'PY'
import logging
import sys

from asymtrack_ros.data.assets import DEFAULT_CACHE, fetch_assets

logging.basicConfig(level=logging.INFO, format="%(message)s")
library = fetch_assets(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_CACHE, extras=True)
counts = {(a.kind, a.split): 0 for a in library.assets}
for asset in library.assets:
    counts[asset.kind, asset.split] += 1
print(f"{library.root}: " + ", ".join(f"{n} {kind}s ({split})" for (kind, split), n in sorted(counts.items())))
if library.procedural:
    print("registries unreachable: procedural textures only")
PY
