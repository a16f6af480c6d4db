#!/usr/bin/env bash
# The test command (`make test`, `.ci/run`): ruff, mypy, then pytest with DDS confined to loopback.
# Where the kernel allows it, pytest runs in a fresh network namespace whose only interface is
# loopback, so no DDS packet can leave the machine whatever a profile says; elsewhere the
# FastDDS profile (UDP on 127.0.0.1 + shared memory) and ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST do.
set -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source scripts/ros_env.sh || exit 1
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID_OVERRIDE:-$(( (RANDOM % 100) + 1 ))}"

ruff check . || exit 1
mypy || exit 1  # the package, as mypy.ini configures it

# The VOT toolkit's own environment (test/test_vot_toolkit.py), installed from the registry now: pytest may run
# without network below. Cached after the first time; where pip cannot install it, the toolkit runs skip.
python -c "from asymtrack_ros.evaluation.vot_toolkit import toolkit_python; toolkit_python()" \
  || echo "[test] VOT toolkit not installed: test/test_vot_toolkit.py skips its toolkit runs" >&2

pytest_cmd=(python -m pytest -ra "$@")
if unshare -n true 2>/dev/null; then
  echo "[test] DDS isolation: network namespace with loopback only; ROS_DOMAIN_ID=$ROS_DOMAIN_ID"
  export ASYMTRACK_NETNS_ISOLATED=1
  unshare -n bash -c 'ip link set lo up && exec "$@"' _ "${pytest_cmd[@]}"
else
  echo "[test] DDS isolation: loopback-only FastDDS profile; ROS_DOMAIN_ID=$ROS_DOMAIN_ID"
  "${pytest_cmd[@]}"
fi
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "[test] pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
