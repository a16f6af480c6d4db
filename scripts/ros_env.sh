# Source after `make setup`:  source scripts/ros_env.sh
# Gives a shell with the venv, the ROS 2 wheels and the built interfaces, and DDS confined to
# this machine: discovery range LOCALHOST, a FastDDS profile whose transports are shared memory
# and UDP on 127.0.0.1 only, and a domain id per shell (override with ROS_DOMAIN_ID).
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
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export FASTRTPS_DEFAULT_PROFILES_FILE="$_asymtrack_root/config/fastdds_loopback.xml"
export FASTDDS_DEFAULT_PROFILES_FILE="$FASTRTPS_DEFAULT_PROFILES_FILE"
export RMW_FASTRTPS_USE_QOS_FROM_XML=0
# Domain ids 1..101 (0 is what other ROS shells use by default); per shell unless set.
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( ($$ % 101) + 1 ))}"
# Reference data (read in place, never copied) for the tools installed in install/.
if [ -z "${ASYMTRACK_REFERENCE_DIR:-}" ] && [ -d "$_asymtrack_root/../shared/reference" ]; then
  ASYMTRACK_REFERENCE_DIR="$(cd "$_asymtrack_root/../shared/reference" && pwd)"
  export ASYMTRACK_REFERENCE_DIR
fi
unset _asymtrack_root
