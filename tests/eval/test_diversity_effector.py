"""Diversity across seeds, and the pusher effector error found by colour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from freeaction.eval.diversity import diversity, pairwise_latent_l2, pixel_std
from freeaction.eval.effector import EffectorTrack
from freeaction.sim import pusher


def test_diversity_measures():
    a = np.zeros((3, 4, 4, 3), np.uint8)
    b = a.copy()
    b[1:] = 10  # frame 0 differences would not count anyway
    assert pixel_std([a, a]) == 0 and pixel_std([a, b]) == pytest.approx(5.0)
    assert pixel_std([a]) is None
    la, lb, lc = torch.zeros(3, 2, 2, 2), torch.ones(3, 2, 2, 2), torch.full((3, 2, 2, 2), 3.0)
    assert pairwise_latent_l2([la, lb, lc]) == pytest.approx((1 + 9 + 4) / 3)
    assert diversity([la], None) == {"diversity_latent_l2": None, "diversity_pixel_std": None}


@pytest.fixture(scope="module")
def episode():
    return pusher.generate_episode(1, 3, (48, 64), frames=12)


def test_effector_error_is_tiny_on_real_frames_and_missing_frames_cost_the_diagonal(episode):
    frames, ann = episode
    track = EffectorTrack(ann, frames.shape[1:3])
    real = track.error(frames[2:10], start=2)
    assert real["ee_error"] < 1.0 and real["ee_missing"] == 0
    blank = frames[2:10].copy()
    blank[3:] = np.asarray(ann["table_color"], np.uint8)  # effector gone from frames 3..7 of the clip
    err = track.error(blank, start=2)
    assert err["ee_missing"] == pytest.approx(5 / 7)
    # 2 frames found (< 1 px off) and 5 missing, each costing the 48x64 frame's diagonal (80 px)
    assert err["ee_error"] == pytest.approx(5 * 80.0 / 7, abs=2 / 7)
    per_frame = track.frame_errors(blank, start=2)
    assert len(per_frame) == 7 and per_frame[2:] == [80.0] * 5 and max(per_frame[:2]) < 1.0
    # a wrong-position video: the truth of another time window
    assert track.error(frames[:8], start=4)["ee_error"] > 1.0


def test_effector_coordinates_follow_a_resized_dataset(episode):
    from freeaction.data.video import resize_frames

    frames, ann = episode
    small = resize_frames(frames, (24, 32))
    track = EffectorTrack(ann, (24, 32))
    assert track.error(small[:6], start=0)["ee_error"] < 1.0
