#!/usr/bin/env bash
# The main job (`make demo`): the tracker node on the demo sequence, annotated video and summary (see README).
set -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source scripts/ros_env.sh || exit 1
exec python -m asymtrack_ros.ros.demo "$@"
