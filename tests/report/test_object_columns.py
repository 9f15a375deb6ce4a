"""The arm's object metrics as columns of the report table, with the VAE's figure as their ceiling."""

from __future__ import annotations

from freeaction.report.summary import METRICS, REFERENCE
from freeaction.report.tables import table_rows


def test_moving_robot_iou_is_a_column_with_its_vae_ceiling():
    assert {"vae_robot_iou_moving", "vae_robot_iou_moving_final", "gripper_agreement"} <= set(REFERENCE)
    assert "vae_gripper_agreement" not in REFERENCE  # the reader's own accuracy is the real video's figure
    stats = {"mean": 0.5, "std": 0.1, "n_clips": 2}
    summary = {
        "methods": ["unguided"], "baseline": "unguided", "references": ["still"],
        "protocols": {"short": {
            "metrics": ["latent_l2", "robot_iou", "robot_iou_moving", "robot_iou_moving_final"],
            "methods": {"unguided": {"latent_l2": stats, "robot_iou": stats, "robot_iou_moving": stats,
                                     "robot_iou_moving_final": stats},
                        "still": {"latent_l2": stats, "robot_iou": {**stats, "mean": 0.85},
                                  "robot_iou_moving": {**stats, "mean": 0.0}}},
            "comparisons": {},
            "reference": {"vae_robot_iou_moving": {"mean": 0.95, "std": 0.0, "n_clips": 2}},
        }},
    }
    header, body = table_rows(summary, "short", METRICS["short"])
    assert header == ["Method", "Latent L2↓", "robot IoU↑", "moving-robot IoU↑", "moving-robot IoU, last frame↑"]
    assert body[1] == ["nothing moves (reference)", "0.5000", "0.850", "0.000", "–"]
    assert body[2] == ["real video (floor / VAE ceiling)", "–", "–", "0.950", "–"]


def test_a_figure_some_clips_lack_says_on_how_many_clips_and_pairs():
    def stats(mean, n):
        return {"mean": mean, "std": 0.1, "n_clips": n}

    comparison = {"diff": -5.11, "ci_low": None, "ci_high": None, "frac_improved": 1.0, "n_clips": 1}
    full = {"diff": 0.1, "ci_low": 0.05, "ci_high": 0.15, "frac_improved": 0.75, "n_clips": 8}
    summary = {
        "methods": ["unguided", "freeaction"], "baseline": "unguided", "references": [],
        "protocols": {"short": {
            "metrics": ["latent_l2", "block_error_px"],
            "methods": {"unguided": {"latent_l2": stats(0.1, 8), "block_error_px": stats(4.62, 5)},
                        "freeaction": {"latent_l2": stats(0.2, 8), "block_error_px": stats(3.93, 3)}},
            "comparisons": {"freeaction": {"latent_l2": full, "block_error_px": comparison}},
        }},
    }
    header, body = table_rows(summary, "short", ["latent_l2", "block_error_px"])
    assert body[0] == ["unguided (baseline)", "0.1000", "4.62 on 5/8"]
    assert body[1] == ["freeaction", "0.2000 (+0.1000 [+0.0500, +0.1500], 75% better)",
                       "3.93 on 3/8 (-5.11 on 1 paired clip, 100% better)"]
