"""Action scaling, shared by the data readers: model-space actions are raw actions times a
per-dimension scaler (docs/method.md §1), 20 for every delta dimension and 1 for an absolute gripper state.

m(a) and -a live in :mod:`freeaction.method.actions`.
"""

from __future__ import annotations

import numpy as np

DELTA_SCALE = 20.0
GRIPPER_SCALE = 1.0


def action_scaler(action_dim: int) -> np.ndarray:
    """model-space scaler (docs/method.md §1): 2-D (Language-Table) -> [20, 20]; 7-D (RT-1/Bridge) -> [20]*6 + [1]."""
    if action_dim == 7:
        return np.array([DELTA_SCALE] * 6 + [GRIPPER_SCALE], dtype=np.float32)
    return np.full(action_dim, DELTA_SCALE, dtype=np.float32)


def delta_dims(action_dim: int) -> list[int]:
    """The dimensions that are deltas (all but the absolute gripper state of 7-D actions)."""
    return list(range(6)) if action_dim == 7 else list(range(action_dim))
