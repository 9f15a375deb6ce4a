"""The one mu_act rule: explicit, else named statistics (must match), else the checkpoint's, else computed."""

from __future__ import annotations

import pytest

from freeaction.errors import MethodError
from freeaction.method import STANDARD_METHODS, Method, resolve_method_mu_act, resolve_mu_act, stats_mismatch

L2_8 = {"mu_act": 2.0, "magnitude": "l2", "dims": None, "num_frames": 8}


def test_order_explicit_then_named_stats_then_checkpoint() -> None:
    ckpt = {**L2_8, "mu_act": 3.0}
    assert resolve_mu_act(1.5, L2_8, ckpt, num_frames=8).value == 1.5
    chosen = resolve_mu_act(None, L2_8, ckpt, num_frames=8, stats_name="--stats data/x")
    assert (chosen.value, chosen.source) == (2.0, "--stats data/x")
    assert resolve_mu_act(None, None, ckpt, num_frames=8).source == "checkpoint"
    assert resolve_mu_act(None, None, ckpt, num_frames=8).value == 3.0


@pytest.mark.parametrize(
    ("stats", "message"),
    [
        ({**L2_8, "magnitude": "mean_step"}, r"magnitude 'mean_step' \(wanted 'l2'\)"),
        ({**L2_8, "dims": [0, 1]}, r"dims \[0, 1\] \(wanted None\)"),
        ({**L2_8, "num_frames": 16}, r"windows of 16 frames \(wanted 8"),
    ],
)
def test_named_statistics_must_match_magnitude_dims_and_window(stats, message) -> None:
    with pytest.raises(MethodError, match=r"--stats: mu_act was computed for " + message):
        resolve_mu_act(None, stats, L2_8, "l2", None, num_frames=8)


def test_checkpoint_statistics_of_another_definition_are_not_used() -> None:
    with pytest.raises(MethodError, match=r"mean_step.*its statistics were made for magnitude 'l2'"):
        resolve_mu_act(None, None, L2_8, "mean_step", None, num_frames=8)
    with pytest.raises(MethodError, match=r"windows of 8 frames"):
        resolve_mu_act(None, None, L2_8, "l2", None, num_frames=16)
    with pytest.raises(MethodError, match=r"records no action statistics.*--mu-act"):
        resolve_mu_act(None, None, None, num_frames=8)
    # old checkpoints recorded no definition: the defaults (l2, all dims), window unchecked
    assert resolve_mu_act(None, None, {"mu_act": 2.5}, num_frames=16).value == 2.5


def test_computed_statistics_come_last() -> None:
    calls = []

    def compute():
        calls.append(1)
        return {"mu_act": 0.7, "magnitude": "mean_step", "dims": [0], "num_frames": 8}

    assert resolve_mu_act(None, None, L2_8, "l2", None, 8, compute=compute).value == 2.0 and not calls
    assert resolve_mu_act(None, None, L2_8, "mean_step", [0], 8, compute=compute).value == 0.7 and calls


def test_methods_get_mu_act_for_their_own_definition() -> None:
    ms = Method.from_dict({"name": "ms", "truncation": {"type": "action_scaled", "magnitude": "mean_step"}})
    stats = {"mu_act": 0.4, "magnitude": "mean_step", "dims": None, "num_frames": 8}
    method, chosen = resolve_method_mu_act(ms, None, stats, L2_8, 8)
    assert method.truncation.mu_act == 0.4 and chosen.value == 0.4
    unguided = STANDARD_METHODS["unguided"]
    assert resolve_method_mu_act(unguided, None, None, None, 8) == (unguided, None)
    assert stats_mismatch(L2_8, "l2", [], 8) == "dims None (wanted [])"
