#!/usr/bin/env bash
# The main job (`make demo`). Until the tracker node lands this reports what is missing.
set -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source scripts/ros_env.sh || exit 1
if ! python -c "import asymtrack_ros.ros.tracker_node" 2>/dev/null; then
  echo "[demo] the tracker node (asymtrack_ros.ros.tracker_node) is not implemented yet; see the open issues."
  exit 1
fi
exec python -m asymtrack_ros.ros.demo "$@"
