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

# The test command: bootstrap, source the install space, run the whole pytest suite.
#
#   ./scripts/test.sh                    # everything under test/
#   ./scripts/test.sh -m lint            # extra arguments go to pytest
#   ./scripts/test.sh test/unit -x       # paths are relative to the repo root
#
# Tests import the INSTALLED sam_ros (install/sam_ros/lib/python3.11/site-packages, first
# on PYTHONPATH), which also holds the generated sam_ros.msg / sam_ros.srv. pytest runs
# through its own executable (not `python -m pytest`, which would put the source tree's
# sam_ros/ first on sys.path) with --import-mode=importlib (pytest.ini).
#
# Each run gets its own random ROS_DOMAIN_ID (1..101; set SAM_ROS_TEST_DOMAIN_ID to fix
# it) and discovery stays on this machine.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$ROOT/scripts/bootstrap.sh"

# colcon's setup scripts read unset variables.
set +u
# shellcheck disable=SC1091
source "$ROOT/.bootstrap/env.sh"
set -u

export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${SAM_ROS_TEST_DOMAIN_ID:-$((RANDOM % 101 + 1))}"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$ROOT/log/ros}"

cd "$ROOT"
echo "[test] pytest $* (ROS_DOMAIN_ID=$ROS_DOMAIN_ID)" >&2
set +e
"$VIRTUAL_ENV/bin/pytest" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "[test] ERROR: pytest collected no tests (exit code 5). That is a failure, not a" \
    "pass: check the paths / -k / -m arguments and that test/ holds test_*.py files." >&2
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  echo "[test] FAILED: pytest exit code $rc" >&2
fi
exit "$rc"
