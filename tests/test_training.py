"""The pieces both training loops share: the lr schedule and the JSON-lines log."""

from __future__ import annotations

import json

import pytest

from freeaction.training import JsonLog, learning_rate, step_seed


def test_learning_rate_warms_up_then_holds_or_decays_by_cosine():
    assert learning_rate(0, 1e-3, 4) == pytest.approx(2.5e-4)
    assert learning_rate(2, 1e-3, 4) == pytest.approx(7.5e-4)
    assert learning_rate(3, 1e-3, 4) == learning_rate(100, 1e-3, 4) == 1e-3
    assert learning_rate(0, 1e-3, 0) == 1e-3
    # cosine from lr at the end of warm-up to lr * min_lr_ratio at decay_steps, the mean halfway
    assert learning_rate(10, 1.0, 10, 110, 0.1) == pytest.approx(1.0)
    assert learning_rate(60, 1.0, 10, 110, 0.1) == pytest.approx(0.55)
    assert learning_rate(110, 1.0, 10, 110, 0.1) == learning_rate(500, 1.0, 10, 110, 0.1) == pytest.approx(0.1)
    assert learning_rate(5, 1.0, 10, 110, 0.1) == pytest.approx(0.6)  # still warming up


def test_step_seeds_differ_per_step_and_run():
    seeds = {step_seed(seed, step) for seed in range(3) for step in range(1000)}
    assert len(seeds) == 3000


def test_json_log_appends_lines_flushed_as_written(tmp_path):
    path = tmp_path / "log.jsonl"
    with JsonLog(path) as log:
        log.write({"step": 1})
        assert path.read_text() == '{"step": 1}\n'  # on disk before the log is closed
    with JsonLog(path) as log:
        log.write({"step": 2, "loss": 0.5})
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"step": 1}, {"step": 2, "loss": 0.5}]
    with JsonLog(None) as log:  # a process other than the main one
        log.write({"step": 3})
    assert len(path.read_text().splitlines()) == 2
