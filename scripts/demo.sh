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

# The demo command: bootstrap, source the install space, run `python -m sam_ros.demo`.
#
#   ./scripts/demo.sh [arguments of sam_ros.demo]

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$ROOT/scripts/bootstrap.sh"

set +u
# shellcheck disable=SC1091
source "$ROOT/.bootstrap/env.sh"
set -u

cd "$ROOT"
# -P: keep the source tree's sam_ros/ (which lacks the generated messages) off sys.path,
# so the installed package is used.
if ! python -P -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("sam_ros.demo") is None)'; then
  echo "[demo] ERROR: the module sam_ros.demo does not exist (yet): there is no" \
    "sam_ros/demo.py or sam_ros/demo/__main__.py in the installed package, so there is no demo to run." >&2
  exit 2
fi
exec python -P -m sam_ros.demo "$@"
