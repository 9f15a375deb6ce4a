"""Guidance equations (docs/method.md §3.1) against hand-computed cases, and the batched negative branch."""

from __future__ import annotations

import math

import pytest
import torch

from freeaction.diffusion.sampler import SampleStats, guided_epsilon
from freeaction.method import (
    FreeActionGuidance,
    Method,
    NegatedCFG,
    NoGuidance,
    NullCFG,
    combine,
    magnitude,
    negate,
)


def build_guidance(options: dict):
    """The guidance of a method with these guidance options, through the one parser."""
    return Method.from_dict({"name": "m", "guidance": options}).guidance


class RecordingModel(torch.nn.Module):
    """eps = 0.1 * x + mean(actions) per sample (+5 if null): easy to compute by hand."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple] = []

    def forward(self, x, t, actions, null_condition=None):
        self.calls.append(
            (x.shape[0], t.clone(), actions.clone(), None if null_condition is None else null_condition.clone())
        )
        a = actions.mean(dim=(1, 2)).reshape(-1, 1, 1, 1, 1)
        out = 0.1 * x + a
        if null_condition is not None:
            out = out + 5.0 * null_condition.float().reshape(-1, 1, 1, 1, 1)
        return out


def test_magnitude_definitions_hand_computed() -> None:
    a = torch.tensor([[[3.0, 4.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])
    assert magnitude(a).tolist() == [5.0, pytest.approx(math.sqrt(2))]
    assert magnitude(a, "mean_step").tolist() == [2.5, 1.0]
    assert magnitude(a, dims=[0]).tolist() == [3.0, 1.0]
    g7 = torch.tensor([[1.0, -2, 3, 0.5, 0, 0, 0.8]])
    assert negate(g7, dims=range(6))[0].tolist() == pytest.approx([-1.0, 2, -3, -0.5, 0, 0, 0.8])
    assert negate(g7)[0].tolist() == pytest.approx([-1.0, 2, -3, -0.5, 0, 0, -0.8])


def test_freeaction_weight_window_and_scale() -> None:
    g = FreeActionGuidance(scale=0.5, window=(0.5, 1.0))
    a = torch.tensor([[[3.0, 4.0]], [[0.0, 0.0]]])  # m = 5 and 0
    assert g.weight(a, 999).tolist() == [2.5, 0.0]
    assert g.weight(a, 501).tolist() == [2.5, 0.0]
    assert g.weight(a, 500).tolist() == [0.0, 0.0]  # 1[t > T/2] is strict
    assert g.weight(a, 0).tolist() == [0.0, 0.0]
    late = FreeActionGuidance(scale=1.0, window=(0.0, 0.5))
    assert late.weight(a, 0).tolist() == [5.0, 0.0] and late.weight(a, 600).tolist() == [0.0, 0.0]
    const = NegatedCFG(scale=2.0)
    assert const.weight(a, 10).tolist() == [2.0, 2.0]
    assert NoGuidance().weight(a, 999).tolist() == [0.0, 0.0]


def test_combine_hand_computed() -> None:
    eps_c = torch.full((1, 2, 1, 1, 1), 3.0)
    eps_n = torch.full((1, 2, 1, 1, 1), 1.0)
    out = combine(eps_c, eps_n, torch.tensor([0.5]))
    assert torch.equal(out, torch.full_like(eps_c, 3.0 + 0.5 * (3.0 - 1.0)))


def test_guided_epsilon_batches_both_branches_in_one_forward() -> None:
    model = RecordingModel()
    x = torch.randn(2, 3, 1, 2, 2)
    a = torch.tensor([[[3.0, 4.0]] * 2, [[0.0, 0.0]] * 2])  # sample 1 has m = 0 -> w = 0
    stats = SampleStats()
    eps = guided_epsilon(model, x, torch.tensor([900]), a, FreeActionGuidance(scale=0.1), stats=stats)
    assert len(model.calls) == 1 and stats.model_calls == 1
    rows, t_in, a_in, null_in = model.calls[0]
    assert rows == 3 and null_in is None  # 2 conditional rows + 1 negative row (only the guided sample)
    assert torch.equal(a_in[2], -a[0]) and t_in.tolist() == [900, 900, 900]
    w = 0.1 * math.sqrt(2 * 25)
    eps_c0 = 0.1 * x[0] + a[0].mean()
    eps_n0 = 0.1 * x[0] - a[0].mean()
    torch.testing.assert_close(eps[0], eps_c0 + w * (eps_c0 - eps_n0))
    torch.testing.assert_close(eps[1], 0.1 * x[1] + 0.0)
    # outside the window: one conditional pass, no extra rows
    guided_epsilon(model, x, torch.tensor([100]), a, FreeActionGuidance(), stats=stats)
    assert model.calls[-1][0] == 2


def test_null_cfg_uses_the_null_condition() -> None:
    model = RecordingModel()
    x = torch.zeros(1, 2, 1, 1, 1)
    a = torch.ones(1, 1, 2)
    eps = guided_epsilon(model, x, torch.tensor([10]), a, NullCFG(scale=2.0))
    _, _, a_in, null_in = model.calls[0]
    assert null_in.tolist() == [False, True] and torch.equal(a_in[1], a[0])
    # eps_c = 1, eps_null = 1 + 5 -> 1 + 2 * (1 - 6)
    torch.testing.assert_close(eps, torch.full_like(x, 1.0 + 2.0 * (1.0 - 6.0)))


def test_gripper_aware_negation_in_the_branch() -> None:
    g = build_guidance({"type": "freeaction", "negate_dims": [0, 1, 2, 3, 4, 5]})
    a = torch.tensor([[[1.0, 2, 3, 4, 5, 6, 0.9]]])
    neg, null = g.negative_branch(a)
    assert null is None and neg[0, 0].tolist() == pytest.approx([-1, -2, -3, -4, -5, -6, 0.9])


def test_method_options_validated() -> None:
    with pytest.raises(ValueError, match="unknown guidance option"):
        build_guidance({"type": "freeaction", "lamda": 1})
    with pytest.raises(ValueError, match="unknown guidance type"):
        build_guidance({"type": "strong"})
    with pytest.raises(ValueError, match="hi must be above lo"):
        build_guidance({"type": "negated", "window": [0.8, 0.2]})


def test_freeaction_weight_with_the_null_branch() -> None:
    g = build_guidance({"type": "freeaction", "negative": "null", "scale": 2.0})
    a = torch.ones(1, 15, 2)
    assert g.negative == "null" and g.weight(a, 999).item() == pytest.approx(2.0 * a.norm().item())
    assert g.negative_branch(a)[1].tolist() == [True]
    with pytest.raises(ValueError, match="applies to type 'freeaction' only"):
        build_guidance({"type": "null", "negative": "null"})
