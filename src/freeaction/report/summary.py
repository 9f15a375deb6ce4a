"""``results.json``: every method's metrics, paired comparisons with the baseline, floors, FVD/FID.

Shape::

    {"format": "freeaction-eval-results/1", "baseline": "unguided", "methods": [...],
     "references": ["still", "shuffled"],                                # reference rows present

     "protocols": {
        "short": {
          "metrics": ["psnr", "ssim", "latent_l2", "idm_error", ...],
          "methods": {"freeaction": {"psnr": {"mean", "std", "n_clips"[, "n_failed", "failed_clips"]}},
                      "still": {...}},                                  # references' figures too
          "comparisons": {"freeaction": {"psnr": {diff, ci_low, ci_high, frac_improved, ...}}, "still": ...},
          "reference": {"idm_error": {...}, "vae_psnr": {...}},          # floors on real video
          "distribution": {"fvd": {"freeaction": 123.4, ...}, "fid": {...}}
        }, "long": {...}},
     "sweep": {...}, "run": {...}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from freeaction.eval.config import REFERENCES
from freeaction.eval.results_folder import feature_folder, load_results, read_run
from freeaction.eval.statistics import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, compare, summarize

FORMAT = "freeaction-eval-results/1"
OBJECT_METRICS = ["block_error_px", "blocks_kept", "robot_iou", "robot_iou_final", "robot_iou_moving",
                  "robot_iou_moving_final", "gripper_agreement"]
METRICS = {
    "short": ["psnr", "ssim", "latent_l2", "idm_error", "ee_error", "ee_missing", *OBJECT_METRICS],
    "long": ["psnr_color", "latent_l2", "idm_error", "ee_error", "ee_missing", *OBJECT_METRICS],
}
DIVERSITY = ["diversity_pixel_std", "diversity_latent_l2"]
REFERENCE = ["idm_error", "ee_error", "ee_missing", "vae_psnr", "vae_ssim", "vae_psnr_color",
             *(f"vae_{m}" for m in OBJECT_METRICS[:-1]), "gripper_agreement"]


def _reference(rows: list[dict[str, Any]], protocol: str) -> dict[str, Any]:
    out = {}
    for metric in REFERENCE:
        v = [
            r[metric]
            for r in rows
            if r["kind"] == "reference" and r["protocol"] == protocol and isinstance(r.get(metric), int | float)
        ]
        if v:
            out[metric] = {
                "mean": float(np.mean(v)),
                "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                "n_clips": len(v),
            }
    return out


def _distribution(out: Path, protocol: str, methods: list[str]) -> dict[str, dict[str, float]]:
    """FVD / FID of each method against the real clips, from the saved features."""
    from freeaction.eval.frechet import frechet_distance

    result: dict[str, dict[str, float]] = {}
    for kind in ("fvd", "fid"):
        real_files = sorted(feature_folder(out, kind, protocol, None).glob("*.npy"))
        if len(real_files) < 1:
            continue
        real = np.concatenate([np.load(p) for p in real_files])
        for m in methods:
            files = sorted(feature_folder(out, kind, protocol, m).glob("*.npy"))
            if not files:
                continue
            gen = np.concatenate([np.load(p) for p in files])
            if len(gen) >= 2 and len(real) >= 2:
                result.setdefault(kind, {})[m] = frechet_distance(gen, real)
    return result


def failed(row: dict[str, Any], metric: str) -> bool:
    """Did ``metric`` fail (NaN/inf) in this row? Named in its ``failed`` list, or, in rows written
    without that list, a sample row holding null for it."""
    return metric in row.get("failed", ()) or (row["kind"] == "sample" and metric in row and row[metric] is None)


def metric_summary(rows: list[dict[str, Any]], protocol: str, method: str, metric: str) -> dict[str, Any] | None:
    """Mean, std and clip count over the clips that have the metric (:func:`summarize`), plus, when some
    samples failed to give it, ``n_failed`` (rows) and ``failed_clips``."""
    s = summarize(rows, protocol, method, metric)
    bad = sorted({r["clip"] for r in rows if r["protocol"] == protocol and r.get("method") == method
                  and failed(r, metric)})
    if not bad:
        return s
    n = sum(1 for r in rows if r["protocol"] == protocol and r.get("method") == method and failed(r, metric))
    return {**(s or {"mean": None, "std": None, "n_clips": 0}), "n_failed": n, "failed_clips": bad}


def compute_summary(out: str | Path) -> dict[str, Any]:
    """The content of ``results.json`` for a results folder (rows merged first if needed)."""
    out = Path(out)
    rows = load_results(out)
    run = read_run(out)
    boot = {
        "resamples": DEFAULT_RESAMPLES,
        "confidence": DEFAULT_CONFIDENCE,
        "seed": DEFAULT_SEED,
        **(run.get("bootstrap") or {}),
    }
    baseline = run["baseline"]
    present = {r.get("method") for r in rows if r["kind"] == "sample"}
    references = [r for r in REFERENCES if r in present and r in run.get("references", [])]
    order = [m for m in run.get("method_order", []) if m in present]
    order += sorted(m for m in present if m not in order and m not in references and m is not None)
    summary: dict[str, Any] = {
        "format": FORMAT,
        "baseline": baseline,
        "methods": order,
        "references": references,
        "bootstrap": boot,
        "protocols": {},
        "sweep": run.get("sweep"),
        "run": run,
    }
    present_protocols = {r["protocol"] for r in rows}
    for protocol in [p for p in ("short", "long") if p in present_protocols]:
        metrics = [
            m
            for m in METRICS[protocol] + DIVERSITY
            if any(
                r["protocol"] == protocol and (isinstance(r.get(m), int | float) or failed(r, m))
                for r in rows
                if r["kind"] != "reference"
            )
        ]
        p: dict[str, Any] = {"metrics": metrics, "methods": {}, "comparisons": {}}
        refs = [m for m in references if any(r["protocol"] == protocol and r.get("method") == m for r in rows)]
        for m in order + refs:
            p["methods"][m] = {k: metric_summary(rows, protocol, m, k) for k in metrics}
            if m != baseline:
                comps = {}
                for k in metrics:
                    c = compare(
                        rows,
                        protocol,
                        m,
                        baseline,
                        k,
                        resamples=int(boot["resamples"]),
                        confidence=float(boot["confidence"]),
                        seed=int(boot["seed"]),
                    )
                    if c is not None:
                        comps[k] = c.to_dict()
                p["comparisons"][m] = comps
        p["reference"] = _reference(rows, protocol)
        p["distribution"] = _distribution(out, protocol, order)
        per_frame = _long_curves(rows, protocol, order) if protocol == "long" else None
        if per_frame:
            p["psnr_color_per_frame"] = per_frame
        summary["protocols"][protocol] = p
    return summary


def _long_curves(rows: list[dict[str, Any]], protocol: str, methods: list[str]) -> dict[str, list[float]]:
    """Mean colour PSNR at each generated frame index (over episodes and seeds that reach it)."""
    curves = {}
    for m in methods:
        seqs = [
            r["psnr_color_per_frame"]
            for r in rows
            if r["kind"] == "sample"
            and r["protocol"] == protocol
            and r.get("method") == m
            and r.get("psnr_color_per_frame")
        ]
        if seqs:
            n = max(len(s) for s in seqs)
            curves[m] = [float(np.mean([s[k] for s in seqs if len(s) > k])) for k in range(n)]
    return curves
