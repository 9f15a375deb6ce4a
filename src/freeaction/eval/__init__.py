"""Evaluation: the paper's metrics, paired statistics, a resumable/sharded runner and the ablation sweep.

    from freeaction.eval import load_eval_config, evaluate
    from freeaction.report import build_report
    cfg = load_eval_config("eval.yaml")
    summary = evaluate(cfg, report=build_report)          # what `freeaction evaluate eval.yaml` does

Modules: :mod:`~freeaction.eval.metrics` (PSNR/SSIM/Latent L2), :mod:`~freeaction.eval.scoring`
(the ``freeaction`` and ``irasim`` scoring modes), :mod:`~freeaction.eval.frechet`
(FVD/FID from user-supplied networks), :mod:`~freeaction.eval.inverse_dynamics` (action
adherence), :mod:`~freeaction.eval.diversity`, :mod:`~freeaction.eval.effector` (pusher
effector error); :mod:`~freeaction.eval.clips` (which test clips, their keys and seeds, loading),
:mod:`~freeaction.eval.measure` (the metrics of one clip), :mod:`~freeaction.eval.runner` (the
resumable loop), :mod:`~freeaction.eval.results_folder` (the results folder's format: run.json,
row shards, video and feature paths, the lock), :mod:`~freeaction.eval.quality` (the quality bar),
:mod:`~freeaction.eval.contact_bar` (the contact bar, per seed, from quality's object figures),
:mod:`~freeaction.eval.first_last_frames` (quality's kept first and last frames),
:mod:`~freeaction.eval.config`, :mod:`~freeaction.eval.statistics`, :mod:`~freeaction.eval.sweep`,
:mod:`~freeaction.eval.objects` (object-level metrics). The methods themselves are :mod:`freeaction.method`'s.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "EvalConfig": "freeaction.eval.config",
    "load_eval_config": "freeaction.eval.config",
    "config_from_dict": "freeaction.eval.config",
    "evaluate": "freeaction.eval.runner",
    "Evaluator": "freeaction.eval.runner",
    "expand_sweep": "freeaction.eval.sweep",
    "compare": "freeaction.eval.statistics",
    "bootstrap_mean_ci": "freeaction.eval.statistics",
    "frechet_distance": "freeaction.eval.frechet",
    "train_idm": "freeaction.eval.inverse_dynamics",
    "load_idm": "freeaction.eval.inverse_dynamics",
    "merge_shards": "freeaction.eval.results_folder",
    "load_results": "freeaction.eval.results_folder",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'freeaction.eval' has no attribute {name!r}")
