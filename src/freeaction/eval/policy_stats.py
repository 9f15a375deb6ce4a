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


def ranking_bootstrap(
    sim: dict[str, np.ndarray],
    wm: dict[str, dict[str, np.ndarray]],
    resamples: int = 2000,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> dict[str, dict[str, list[float] | None]]:
    """Percentile-bootstrap intervals of Pearson r and MMRV per method, and of each method's
    difference from the first method.

    ``sim[policy]`` and ``wm[method][policy]`` are 0/1 outcomes of the same episodes in the same
    order (episode k of a policy is one scene in every environment). Each resample draws every
    policy's episodes with replacement, the same draw for the simulator and every method, so
    the intervals of the differences are paired. Resamples where r is undefined (a constant
    side) are left out of r's interval.
    """
    rng = np.random.default_rng(seed)
    policies, methods = list(sim), list(wm)
    draws = {m: {"pearson": [], "mmrv": []} for m in methods}
    for _ in range(int(resamples)):
        idx = {p: rng.integers(0, len(sim[p]), len(sim[p])) for p in policies}
        ref = [float(sim[p][idx[p]].mean()) for p in policies]
        for m in methods:
            proxy = [float(wm[m][p][idx[p]].mean()) for p in policies]
            r = correlations(proxy, ref)["pearson"]
            draws[m]["pearson"].append(np.nan if r is None else r)
            draws[m]["mmrv"].append(mmrv(proxy, ref))
    alpha = 100 * (1 - confidence) / 2

    def interval(values: np.ndarray) -> list[float] | None:
        v = values[np.isfinite(values)]
        return None if len(v) < 2 else [float(x) for x in np.percentile(v, [alpha, 100 - alpha])]

    out: dict[str, dict[str, list[float] | None]] = {}
    base = methods[0]
    for m in methods:
        pe, mm = np.asarray(draws[m]["pearson"]), np.asarray(draws[m]["mmrv"])
        out[m] = {"pearson_ci": interval(pe), "mmrv_ci": interval(mm)}
        if m != base:
            out[m][f"pearson_minus_{base}_ci"] = interval(pe - np.asarray(draws[base]["pearson"]))
            out[m][f"mmrv_minus_{base}_ci"] = interval(mm - np.asarray(draws[base]["mmrv"]))
    return out
