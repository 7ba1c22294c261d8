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


"""The tools never use random weights silently and reject bad arguments in one line."""

import pytest
from sam_ros.tools import benchmark_engine, benchmark_synthetic, evaluate_embedded


def _usage_error(main, argv, capsys) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    return err


def test_evaluation_of_an_official_model_needs_a_checkpoint_or_the_explicit_flag(capsys):
    err = _usage_error(evaluate_embedded.main, ['--model-type', 'vit_b'], capsys)
    assert 'needs --checkpoint FILE' in err and 'RANDOM' in err and '--random-weights' in err


def test_the_engine_benchmark_refuses_silent_random_weights(capsys):
    err = _usage_error(benchmark_engine.main, ['--models', 'vit_t'], capsys)
    assert 'model vit_t needs --checkpoint vit_t=FILE' in err and '--random-weights' in err
    err = _usage_error(benchmark_engine.main, ['--models', 'vit_t', '--checkpoint', 'x.pt'],
                       capsys)
    assert 'MODEL=FILE' in err


def test_the_engine_benchmark_times_the_committed_embedded_weights_and_says_so(capsys):
    assert benchmark_engine.main(['--models', 'embedded', '--precisions', 'fp32',
                                  '--repeats', '1', '--encoder-repeats', '1']) == 0
    captured = capsys.readouterr()
    assert 'embedded: committed weights' in captured.err
    assert 'weights: embedded committed weights,' in captured.out
    assert 'random' not in captured.out.lower()


@pytest.mark.parametrize('main', [evaluate_embedded.main, benchmark_synthetic.main])
@pytest.mark.parametrize('size,says', [('640x48', 'at least 64 pixels'),
                                       ('640', 'WIDTHxHEIGHT'), ('axb', 'WIDTHxHEIGHT')])
def test_a_bad_frame_size_is_a_one_line_usage_error(main, size, says, capsys):
    assert says in _usage_error(main, ['--sizes', size], capsys)
