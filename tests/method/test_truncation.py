"""Initial noise (docs/method.md §3.2): exact truncated normal, tau(a) hand-computed, reproducible from seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from freeaction.method import ActionScaledTruncation, FixedTruncation, GaussianNoise, Method, truncated_normal


def test_truncated_normal_matches_scipy_truncnorm() -> None:
    g = torch.Generator().manual_seed(0)
    x = truncated_normal((1, 200_000), 0.7, g).numpy().ravel()
    assert x.min() >= -0.7 and x.max() <= 0.7
    ks = stats.kstest(x, stats.truncnorm(-0.7, 0.7).cdf)
    assert ks.pvalue > 1e-3
    assert np.var(x) == pytest.approx(stats.truncnorm(-0.7, 0.7).var(), rel=0.02)


def test_per_sample_tau_and_seeds() -> None:
    tau = torch.tensor([0.5, 2.0])
    x = truncated_normal((2, 50_000), tau, torch.Generator().manual_seed(1))
    assert x[0].abs().max() <= 0.5 and x[1].abs().max() > 1.5
    y = truncated_normal((2, 50_000), tau, torch.Generator().manual_seed(1))
    assert torch.equal(x, y)
    with pytest.raises(ValueError, match="positive"):
        truncated_normal((1, 3), 0.0)


def test_action_scaled_tau_hand_computed() -> None:
    trunc = ActionScaledTruncation(mu_act=2.0, tau_min=0.5, tau_max=1.5)
    a = torch.tensor([[[3.0, 4.0]], [[0.0, 0.0]]])  # m = 5, 0
    expected = [0.5 + 1.0 / (1 + math.exp(-3.0)), 0.5 + 1.0 / (1 + math.exp(2.0))]
    assert trunc.tau(a).tolist() == pytest.approx(expected)
    x = trunc((2, 4, 1, 8, 8), a, torch.Generator().manual_seed(0))
    assert x[0].abs().max() <= expected[0] and x[1].abs().max() <= expected[1]
    assert x[1].abs().max() > 0.5 * expected[1]


def test_per_sample_generators_make_samples_independent_of_the_batch() -> None:
    gens = lambda: [torch.Generator().manual_seed(s) for s in (7, 8)]  # noqa: E731
    a = torch.zeros(2, 3, 2)
    both = GaussianNoise()((2, 3, 4), a, gens())
    alone = GaussianNoise()((1, 3, 4), a[:1], [torch.Generator().manual_seed(7)])
    assert torch.equal(both[0], alone[0])
    fixed = FixedTruncation(0.8)((2, 3, 4), a, gens())
    assert fixed.abs().max() <= 0.8 and not torch.equal(fixed[0], fixed[1])


def test_gaussian_matches_diffusers_randn_tensor() -> None:
    from diffusers.utils.torch_utils import randn_tensor

    ours = GaussianNoise()((2, 16, 4, 8, 8), torch.zeros(2, 15, 2), torch.Generator().manual_seed(3))
    ref = randn_tensor((2, 16, 4, 8, 8), generator=torch.Generator().manual_seed(3))
    assert torch.equal(ours, ref)


def test_action_scaled_truncation_needs_mu_act() -> None:
    method = Method.from_dict({"name": "m", "truncation": {"type": "action_scaled"}})
    with pytest.raises(ValueError, match="mu_act"):
        method.truncation((1, 2, 1, 1, 1), torch.zeros(1, 1, 2))
    assert method.needs_mu_act and isinstance(method.with_mu_act(1.0).truncation, ActionScaledTruncation)
    assert method.with_mu_act(1.0).truncation.mu_act == 1.0 and not method.with_mu_act(1.0).needs_mu_act
    own = Method.from_dict({"name": "m", "truncation": {"type": "action_scaled", "mu_act": 3.0}})
    assert own.with_mu_act(1.0).truncation.mu_act == 3.0
