"""The 'what it gets wrong' picture: which clips it shows and how the grid is laid out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from freeaction.media import read_image
from freeaction.report.stills import COLUMNS, GAP, badness, first_last_grid, save_png, telling_clips


def test_the_worst_clips_by_the_object_figure_then_a_typical_one():
    rows = [
        {"clip": "a@0", "seed": 0, "latent_l2": 0.1, "block_error_px": 1.0, "blocks_kept": 1.0},
        {"clip": "b@0", "seed": 0, "latent_l2": 0.9},  # no block moved: never picked
        {"clip": "c@0", "seed": 0, "latent_l2": 0.1, "blocks_kept": 0.0},  # moved block lost: the worst
        {"clip": "d@0", "seed": 0, "latent_l2": 0.1, "block_error_px": 5.0, "blocks_kept": 1.0},
        {"clip": "c@0", "seed": 1, "latent_l2": 0.1, "block_error_px": 9.0, "blocks_kept": 1.0},  # same clip
        {"clip": "e@0", "seed": 0, "latent_l2": 0.1, "block_error_px": 2.0, "blocks_kept": 1.0},
        {"clip": "f@0", "seed": 0, "latent_l2": 0.1, "block_error_px": 0.5, "blocks_kept": 1.0},
    ]
    assert badness(rows[2]) == ("moved-block final error (px)", math.inf)
    picked = telling_clips(rows, worst=2)
    assert [(label, r["clip"], r["seed"]) for label, r in picked] == [
        ("worst", "c@0", 0), ("worst", "d@0", 0), ("typical", "a@0", 0)]  # median of e 2.0, a 1.0, f 0.5


def test_arm_rows_rank_by_moving_robot_iou():
    rows = [{"clip": "a", "seed": 0, "latent_l2": 1.0, "robot_iou_moving": 0.9},
            {"clip": "b", "seed": 0, "latent_l2": 0.0, "robot_iou_moving": 0.2}]
    assert [r["clip"] for _, r in telling_clips(rows, worst=1)] == ["b", "a"]
    assert telling_clips([{"clip": "a", "seed": 0}]) == []


def test_grid_puts_each_clip_in_a_row_true_and_generated_side_by_side(tmp_path):
    n, h, w = 3, 4, 5
    frames = {name: np.full((n, h, w, 3), 10 * k, np.uint8) + np.arange(n, dtype=np.uint8)[:, None, None, None]
              for k, name in enumerate(COLUMNS)}
    grid = first_last_grid(frames, [2, 0])
    assert grid.shape == (2 * h + GAP, 4 * w + 3 * GAP, 3) and grid.dtype == np.uint8
    assert (grid[:h, :w] == 2).all()  # clip 2's true first frame, top left
    assert (grid[h + GAP :, 3 * (w + GAP) :] == 30).all()  # clip 0's generated last frame, bottom right
    assert (grid[h : h + GAP] == 255).all() and (grid[:, w : w + GAP] == 255).all()  # white gaps
    path = save_png(grid, tmp_path / "wrong.png", scale=2)
    back = read_image(path)
    assert back.shape == (2 * grid.shape[0], 2 * grid.shape[1], 3)
    assert (back[::2, ::2] == grid).all()
    with pytest.raises(ValueError, match="no clip"):
        first_last_grid(frames, [])
