#!/usr/bin/env bash
# One-command set-up: .venv with pinned dependencies, then a colcon build into install/.
# Idempotent: each step records a hash of its inputs and is skipped when they are unchanged.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMPS="$VENV/.asymtrack_stamps"
PYTHON_BOOTSTRAP="${PYTHON:-python3}"

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }
stamp_matches() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PYTHON_BOOTSTRAP" -m venv "$VENV"
fi
mkdir -p "$STAMPS"

deps_hash=$(hash_of "$ROOT/requirements.txt" "$ROOT/setup.py" "$ROOT/scripts/setup.sh")
if ! stamp_matches deps "$deps_hash"; then
  echo "[setup] installing pinned dependencies (first run: a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements.txt"
  "$VENV/bin/python" "$ROOT/scripts/fix_wheel_cmake_exports.py" "$VENV"
  # The core in editable mode: console scripts (asymtrack-export, -bench, -eval, -train, ...) on PATH.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT"
  echo "$deps_hash" > "$STAMPS/deps"
fi

# Everything colcon installs: interfaces, CMake, the Python package, executables, launch/config/models.
build_inputs=$(cd "$ROOT" && git ls-files -co --exclude-standard -- package.xml CMakeLists.txt setup.py msg srv deps \
  asymtrack_ros bin launch config models 2>/dev/null | sort)
build_hash=$( (echo "$deps_hash"; cd "$ROOT" && echo "$build_inputs" | xargs -r sha256sum) | sha256sum | cut -d' ' -f1)
if ! stamp_matches build "$build_hash" || [ ! -f "$ROOT/install/setup.bash" ]; then
  echo "[setup] colcon build (vision_msgs definitions + asymtrack_ros)"
  mkdir -p "$ROOT/log"
  (
    cd "$ROOT"
    export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH"
    # CMake refuses exported include dirs inside the source tree, and .venv (numpy's headers) is
    # inside it: hand CMake numpy's headers through a link outside the repository.
    numpy_link="${XDG_CACHE_HOME:-$HOME/.cache}/asymtrack_ros/numpy-include"
    mkdir -p "$(dirname "$numpy_link")"
    ln -sfn "$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')" "$numpy_link"
    colcon_args=(--base-paths "$ROOT" "$ROOT/deps/vision_msgs" --build-base build --install-base install)
    if [ -d "$VENV/share/vision_msgs" ] || [ -n "${ASYMTRACK_SYSTEM_VISION_MSGS:-}" ]; then
      colcon_args+=(--packages-skip vision_msgs)
    fi
    # BUILD_TESTING=ON registers test/ for `colcon test` (ament_cmake_pytest); it compiles nothing more.
    "$VENV/bin/colcon" --log-base log build "${colcon_args[@]}" --event-handlers console_cohesion- summary+ \
      --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DPython3_NumPy_INCLUDE_DIR="$numpy_link" -DBUILD_TESTING=ON >"$ROOT/log/colcon_last.txt" 2>&1 \
      || { cat "$ROOT/log/colcon_last.txt"; exit 1; }
  )
  echo "$build_hash" > "$STAMPS/build"
fi
echo "[setup] ready: source scripts/ros_env.sh"
