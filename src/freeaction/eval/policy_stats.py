"""How well a world model ranks policies: success rates, correlations, MMRV, agreement, drift.

``reference`` is the simulator's success rate per policy and ``proxy`` the world model's.

- Pearson r and Spearman rho across policies (scipy; NaN when either side is constant).
- MMRV, SIMPLER's mean maximum rank violation (Li et al. 2024, "Evaluating Real-World Robot
  Manipulation Policies in Simulation"): for each policy i, the largest reference gap
  ``|reference_i - reference_j|`` over the policies j the proxy orders differently
  (``(proxy_i > proxy_j) != (reference_i > reference_j)``, strict, so a tie on one side only is a
  violation); the mean of those maxima over i. 0 is a perfect ranking; it weighs a swap of two
  policies by how different they really are.
- Agreement: the fraction of episodes where world-model success equals simulator success on the
  same scene and policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from freeaction.eval.statistics import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_mean_ci


def mmrv(proxy: Sequence[float], reference: Sequence[float]) -> float:
    """Mean maximum rank violation of ``proxy``'s ordering against ``reference`` (see the module doc)."""
    p, r = np.asarray(proxy, np.float64), np.asarray(reference, np.float64)
    if p.shape != r.shape or p.ndim != 1 or not len(p):
        raise ValueError(f"mmrv needs two equal-length non-empty vectors, got {p.shape} and {r.shape}")
    violated = (p[:, None] > p[None, :]) != (r[:, None] > r[None, :])
    gaps = np.where(violated, np.abs(r[:, None] - r[None, :]), 0.0)
    return float(gaps.max(axis=1).mean())


def correlations(proxy: Sequence[float], reference: Sequence[float]) -> dict[str, float | None]:
    """Pearson r and Spearman rho across policies (None where undefined: fewer than 3 policies or a constant side)."""
    p, r = np.asarray(proxy, np.float64), np.asarray(reference, np.float64)
    if len(p) < 3 or np.ptp(p) == 0 or np.ptp(r) == 0:
        return {"pearson": None, "spearman": None}
    return {"pearson": float(stats.pearsonr(p, r).statistic), "spearman": float(stats.spearmanr(p, r).statistic)}


def rate(outcomes: Sequence[float], bootstrap: dict[str, Any] | None = None) -> dict[str, Any]:
    """Mean of 0/1 outcomes with a percentile-bootstrap interval over episodes."""
    b = bootstrap or {}
    x = np.asarray(outcomes, np.float64)
    ci = bootstrap_mean_ci(x, int(b.get("resamples", DEFAULT_RESAMPLES)),
                           float(b.get("confidence", DEFAULT_CONFIDENCE)), int(b.get("seed", DEFAULT_SEED)))
    return {"rate": float(x.mean()) if len(x) else None, "ci": list(ci) if ci else None, "n": int(len(x))}


def per_step_mean(series: Sequence[Sequence[float]]) -> list[float]:
    """The mean over episodes of each step of equal-length per-step series."""
    arr = np.asarray(series, np.float64)
    return arr.mean(axis=0).tolist() if arr.size else []
