# Source after `make setup`:  source scripts/ros_env.sh
# Gives a shell with the venv, the ROS 2 wheels and the built interfaces, and DDS confined to
# this machine: discovery range LOCALHOST and a FastDDS profile whose transports are shared memory
# and UDP on 127.0.0.1 only.
#
# Domain id: interactive shells share one, so a terminal that launches the tracker and one that
# calls its service see each other: your ROS_DOMAIN_ID, or ROS's default (0) when it is unset.
# Scripts (non-interactive shells: make demo, `source scripts/ros_env.sh && pytest ...`) get a
# domain id of their own, 1..101, unless ROS_DOMAIN_ID is set, so parallel runs don't cross-talk;
# make test (scripts/run_tests.sh) and colcon test choose theirs.
#
# A robot on a real network: export ASYMTRACK_DDS_LOCALHOST=0 before sourcing. Then this script
# leaves discovery, the FastDDS profile and ROS_DOMAIN_ID as you set them (ROS_AUTOMATIC_DISCOVERY_RANGE,
# ROS_STATIC_PEERS, FASTRTPS_DEFAULT_PROFILES_FILE, ROS_DOMAIN_ID). Large images then need a profile of
# your own with a big shared-memory segment, e.g. config/fastdds_loopback.xml without its
# interfaceWhiteList and initialPeersList.
_asymtrack_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
if [ ! -f "$_asymtrack_root/install/setup.bash" ]; then
  echo "asymtrack_ros: run 'make setup' first" >&2
  return 1 2>/dev/null || exit 1
fi
export VIRTUAL_ENV="$_asymtrack_root/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
# The wheels make the venv a ROS prefix; install/setup.bash keeps it only if it is already here.
export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
# shellcheck disable=SC1091
source "$_asymtrack_root/install/setup.bash"
export RMW_IMPLEMENTATION=rmw_fastrtps_cpp
export RMW_FASTRTPS_USE_QOS_FROM_XML=0
if [ "${ASYMTRACK_DDS_LOCALHOST:-1}" != 0 ]; then
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
  export FASTRTPS_DEFAULT_PROFILES_FILE="$_asymtrack_root/config/fastdds_loopback.xml"
  export FASTDDS_DEFAULT_PROFILES_FILE="$FASTRTPS_DEFAULT_PROFILES_FILE"
  case "$-" in
    *i*) ;;  # interactive: one shared domain (ROS_DOMAIN_ID as you have it)
    *) export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( ($$ % 101) + 1 ))}" ;;
  esac
fi
# Reference data (read in place, never copied) for the tools installed in install/.
if [ -z "${ASYMTRACK_REFERENCE_DIR:-}" ] && [ -d "$_asymtrack_root/../shared/reference" ]; then
  ASYMTRACK_REFERENCE_DIR="$(cd "$_asymtrack_root/../shared/reference" && pwd)"
  export ASYMTRACK_REFERENCE_DIR
fi
unset _asymtrack_root
