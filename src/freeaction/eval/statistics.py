"""Paired comparisons with bootstrap confidence intervals (docs/method.md §4: never just two means).

For a method M, the baseline B (unguided by default) and a metric:

1. per clip, average the metric over that clip's seeds (seeds are not independent samples of
   the clip population, the clips are): ``m_M(c)``, ``m_B(c)``;
2. take the paired differences ``d_c = m_M(c) - m_B(c)`` over the clips both have;
3. report ``mean(d)`` with a percentile-bootstrap confidence interval (resample clips with
   replacement, ``resamples`` times, fixed RNG seed, so the same rows give the same interval)
   and the fraction of clips where M is better than B, which is direction-aware: higher PSNR /
   SSIM is better, lower Latent L2 / IDM error / effector error is better (ties count as
   neither better nor worse). Metrics without a better direction (diversity) get no fraction.

Reading it: an interval that excludes 0 means the difference is unlikely to be an accident of
which clips were drawn (at the stated confidence); it says nothing about other datasets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from freeaction.eval.metrics import HIGHER_IS_BETTER

DEFAULT_RESAMPLES = 10_000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_SEED = 0


def bootstrap_mean_ci(
    values: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float] | None:
    """Percentile-bootstrap interval of the mean of ``values`` (None for fewer than 2 values)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        return None
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    means = np.empty(int(resamples))
    step = max(1, 2_000_000 // len(x))  # bounded memory for many clips
    for i in range(0, int(resamples), step):
        k = min(step, int(resamples) - i)
        means[i : i + k] = x[rng.integers(0, len(x), size=(k, len(x)))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.percentile(means, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def per_clip(rows: Iterable[dict[str, Any]], protocol: str, method: str, metric: str) -> dict[str, float]:
    """clip -> the metric averaged over that clip's seeds (sample rows) or its clip row."""
    acc: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["protocol"] != protocol or r.get("method") != method or r["kind"] not in ("sample", "clip"):
            continue
        v = r.get(metric)
        if isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v):
            acc[r["clip"]].append(float(v))
    return {c: float(np.mean(v)) for c, v in acc.items()}


@dataclass
class Comparison:
    """One method vs the baseline on one metric, paired by clip."""

    protocol: str
    metric: str
    method: str
    baseline: str
    n_clips: int
    mean: float  # the method's mean over the paired clips
    baseline_mean: float
    diff: float  # mean paired difference, method - baseline
    ci_low: float | None
    ci_high: float | None
    confidence: float
    higher_is_better: bool | None
    frac_improved: float | None
    frac_worse: float | None
    differences: list[float]  # per clip, in clip order (for histograms and best/worst picks)
    clips: list[str]

    @property
    def significant(self) -> bool:
        return self.ci_low is not None and (self.ci_low > 0 or self.ci_high < 0)

    def to_dict(self, with_differences: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not with_differences:
            d.pop("differences")
            d.pop("clips")
        return d


def compare(
    rows: list[dict[str, Any]],
    protocol: str,
    method: str,
    baseline: str,
    metric: str,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> Comparison | None:
    """The paired comparison, or None when no clip has the metric for both methods."""
    a, b = per_clip(rows, protocol, method, metric), per_clip(rows, protocol, baseline, metric)
    clips = sorted(set(a) & set(b))
    if not clips:
        return None
    ma, mb = np.array([a[c] for c in clips]), np.array([b[c] for c in clips])
    d = ma - mb
    ci = bootstrap_mean_ci(d, resamples, confidence, seed)
    hib = HIGHER_IS_BETTER.get(metric)
    better = None if hib is None else (d > 0 if hib else d < 0)
    worse = None if hib is None else (d < 0 if hib else d > 0)
    return Comparison(
        protocol=protocol,
        metric=metric,
        method=method,
        baseline=baseline,
        n_clips=len(clips),
        mean=float(ma.mean()),
        baseline_mean=float(mb.mean()),
        diff=float(d.mean()),
        ci_low=None if ci is None else ci[0],
        ci_high=None if ci is None else ci[1],
        confidence=confidence,
        higher_is_better=hib,
        frac_improved=None if better is None else float(better.mean()),
        frac_worse=None if worse is None else float(worse.mean()),
        differences=[float(v) for v in d],
        clips=clips,
    )


def summarize(rows: list[dict[str, Any]], protocol: str, method: str, metric: str) -> dict[str, Any] | None:
    """Mean, std over clips (seeds averaged first) and clip count of one method's metric."""
    v = np.array(list(per_clip(rows, protocol, method, metric).values()))
    if not len(v):
        return None
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n_clips": int(len(v))}
