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


"""Exit codes: one table for main.py and the launch file, which shuts down with the reason."""

import ast
from pathlib import Path

from sam_ros.node import exit_codes, main


def test_the_codes_are_the_ones_main_returns_and_each_says_what_it_means():
    assert (exit_codes.EXIT_OK, exit_codes.EXIT_MODEL, exit_codes.EXIT_CONFIG) == (
        main.EXIT_OK, main.EXIT_MODEL, main.EXIT_CONFIG) == (0, 1, 2)
    assert exit_codes.describe_exit(1) == (
        'exit code 1: cannot load the model (missing or corrupt checkpoint, unusable device)')
    assert exit_codes.describe_exit(2) == 'exit code 2: bad configuration (a parameter value)'
    assert exit_codes.describe_exit(-9) == 'killed by SIGKILL'
    assert 'crashed' in exit_codes.describe_exit(3)


def test_the_launch_file_shuts_launch_down_with_the_reason_when_the_node_exits(
        repo_root: Path):
    # launch is not importable here (no wheel); read the launch file's code instead.
    tree = ast.parse((repo_root / 'launch' / 'sam.launch.py').read_text(encoding='utf-8'))
    calls = {node.func.id: node for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    handlers = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name) and node.func.id == 'OnProcessExit']
    targets = set()
    for handler in handlers:    # one for sam_node, one for the lifecycle node
        keywords = {k.arg: k.value for k in handler.keywords}
        assert isinstance(keywords['target_action'], ast.Name)
        assert keywords['on_exit'].id == '_on_node_exit'
        targets.add(keywords['target_action'].id)
    assert targets == {'node', 'managed'}
    on_exit = next(f for f in tree.body if isinstance(f, ast.FunctionDef)
                   and f.name == keywords['on_exit'].id)
    inner = {n.func.id for n in ast.walk(on_exit)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {'Shutdown', 'LogInfo', 'describe_exit'} <= inner
    assert 'RegisterEventHandler' in calls
