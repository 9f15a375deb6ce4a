"""Helpers for the data tests: tiny IRASim-layout episodes written by the test itself."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def flat_frames(n: int, colour: tuple[int, int, int], size: tuple[int, int] = (32, 48)) -> np.ndarray:
    """n frames of one colour, with the frame index written into the top-left block."""
    f = np.empty((n, *size, 3), dtype=np.uint8)
    f[:] = colour
    for k in range(n):
        f[k, :8, :8] = (k * 12) % 256
    return f


def random_poses(rng: np.random.Generator, t: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, 6) poses with random rotations (big angles) and (T,) gripper states."""
    pos = rng.normal(0, 0.2, (t, 3))
    rpy = Rotation.random(t, random_state=int(rng.integers(1 << 31))).as_euler("xyz")
    return np.concatenate([pos, rpy], 1), rng.uniform(0, 1, t)


def scipy_actions(states: np.ndarray, gripper: np.ndarray) -> np.ndarray:
    """docs/method.md §5 actions computed independently with scipy (extrinsic xyz = Rz Ry Rx)."""
    R = Rotation.from_euler("xyz", states[:, 3:6])
    out = []
    for k in range(1, len(states)):
        prev_inv = R[k - 1].inv()
        dp = prev_inv.apply(states[k, :3] - states[k - 1, :3])
        dr = (prev_inv * R[k]).as_euler("xyz")
        out.append(np.concatenate([dp, dr, [gripper[k]]]))
    return np.asarray(out)
