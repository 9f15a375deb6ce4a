"""Paired differences, bootstrap intervals (vs scipy.stats.bootstrap) and direction-aware win rates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from freeaction.eval.statistics import bootstrap_mean_ci, compare, per_clip


def rows_for(method: str, values: dict[str, list[float]], metric: str = "psnr") -> list[dict]:
    return [
        {"kind": "sample", "protocol": "short", "method": method, "clip": clip, "seed": s, metric: v}
        for clip, vs in values.items()
        for s, v in enumerate(vs)
    ]


def test_hand_computed_case():
    # clip means: base a=10, b=20, c=30; method a=(11+13)/2=12, b=19, c=33 -> diffs 2, -1, 3
    rows = rows_for("base", {"a": [10, 10], "b": [20, 20], "c": [30, 30]}) + rows_for(
        "m", {"a": [11, 13], "b": [19, 19], "c": [33, 33]}
    )
    assert per_clip(rows, "short", "m", "psnr") == {"a": 12.0, "b": 19.0, "c": 33.0}
    c = compare(rows, "short", "m", "base", "psnr", resamples=2000)
    assert c.n_clips == 3 and c.diff == pytest.approx(4 / 3) and c.differences == [2.0, -1.0, 3.0]
    assert c.mean == pytest.approx(64 / 3) and c.baseline_mean == pytest.approx(20.0)
    assert c.frac_improved == pytest.approx(2 / 3) and c.frac_worse == pytest.approx(1 / 3)
    # the interval of a mean of resampled {2, -1, 3} lies within [-1, 3] and contains the mean
    assert -1 <= c.ci_low <= c.diff <= c.ci_high <= 3


def test_direction_awareness_lower_is_better_for_errors():
    rows = rows_for("base", {"a": [1.0], "b": [1.0]}, "latent_l2")
    rows += rows_for("m", {"a": [0.5], "b": [2.0]}, "latent_l2")
    c = compare(rows, "short", "m", "base", "latent_l2")
    assert c.higher_is_better is False and c.frac_improved == 0.5 and c.differences == [-0.5, 1.0]
    rows = rows_for("base", {"a": [1.0]}, "diversity_pixel_std") + rows_for("m", {"a": [2.0]}, "diversity_pixel_std")
    c = compare(rows, "short", "m", "base", "diversity_pixel_std")
    assert c.frac_improved is None and c.ci_low is None  # no better direction; 1 clip: no interval


def test_only_clips_present_for_both_methods_are_paired_and_nan_is_ignored():
    rows = rows_for("base", {"a": [1.0], "b": [2.0], "c": [3.0]}) + rows_for("m", {"a": [2.0], "b": [float("nan")]})
    rows.append({"kind": "sample", "protocol": "long", "method": "m", "clip": "c", "seed": 0, "psnr": 99.0})
    c = compare(rows, "short", "m", "base", "psnr")
    assert c.clips == ["a"] and c.diff == 1.0


def test_bootstrap_interval_matches_scipy_percentile_bootstrap():
    rng = np.random.default_rng(3)
    d = rng.normal(0.4, 1.0, size=60)
    ours = bootstrap_mean_ci(d, resamples=20000, confidence=0.95, seed=0)
    ref = stats.bootstrap((d,), np.mean, confidence_level=0.95, n_resamples=20000, method="percentile",
                          random_state=np.random.default_rng(1)).confidence_interval
    width = ref.high - ref.low
    assert ours[0] == pytest.approx(ref.low, abs=0.05 * width)
    assert ours[1] == pytest.approx(ref.high, abs=0.05 * width)
    # and close to the normal-theory interval for a sample this size
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert ours[0] == pytest.approx(d.mean() - 1.96 * se, abs=0.15 * width)


def test_bootstrap_is_reproducible_and_needs_two_values():
    d = np.random.default_rng(0).normal(size=30)
    assert bootstrap_mean_ci(d, resamples=500, seed=7) == bootstrap_mean_ci(d, resamples=500, seed=7)
    assert bootstrap_mean_ci(d, resamples=500, seed=7) != bootstrap_mean_ci(d, resamples=500, seed=8)
    assert bootstrap_mean_ci(np.array([1.0])) is None
