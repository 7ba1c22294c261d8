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


"""The Fast DDS profile the demo and the node benchmark give the node (tier 1)."""

import os
from pathlib import Path

from sam_ros.demo.run import fastdds_profile_file, use_fastdds_profile

VAR = 'FASTDDS_DEFAULT_PROFILES_FILE'


def test_the_shipped_profile_is_installed_and_has_8_mb_segments():
    path = fastdds_profile_file()
    assert path is not None and path.name == 'fastdds_large_shm.xml'
    text = path.read_text(encoding='utf-8')
    assert '<segment_size>8388608</segment_size>' in text
    assert '<useBuiltinTransports>false</useBuiltinTransports>' in text
    assert 'is_default_profile="true"' in text


def test_shipped_is_used_unless_the_environment_names_a_profile(monkeypatch, tmp_path):
    monkeypatch.delenv(VAR, raising=False)
    assert use_fastdds_profile('shipped') == 'config/fastdds_large_shm.xml'
    assert Path(os.environ[VAR]) == fastdds_profile_file()
    mine = tmp_path / 'mine.xml'
    monkeypatch.setenv(VAR, str(mine))
    assert use_fastdds_profile('shipped') == str(mine)
    assert os.environ[VAR] == str(mine)


def test_default_removes_the_variable_and_a_path_sets_it(monkeypatch, tmp_path):
    monkeypatch.setenv(VAR, '/somewhere/else.xml')
    assert use_fastdds_profile('default') == 'Fast DDS default profile'
    assert VAR not in os.environ
    path = str(tmp_path / 'p.xml')
    assert use_fastdds_profile(path) == path
    assert os.environ[VAR] == path
