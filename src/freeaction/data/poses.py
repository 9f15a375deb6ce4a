"""End-effector poses to 7-D actions (docs/method.md §5), vectorised over an episode.

A pose is xyz + roll/pitch/yaw with R = Rz(yaw) Ry(pitch) Rx(roll). The action that drives
frame k-1 to frame k is

    [R_{k-1}^T (p_k - p_{k-1}),  euler(R_{k-1}^T R_k),  gripper_k]

in raw units; the reader multiplies by the model-space scaler afterwards. ``euler`` inverts
the same convention, returning (roll, pitch, yaw) in (-pi, pi], with the gimbal-lock branch
(yaw = 0) that IRASim uses.
"""

from __future__ import annotations

import numpy as np


def euler_to_matrix(rpy: np.ndarray) -> np.ndarray:
    """(..., 3) roll, pitch, yaw -> (..., 3, 3) rotation Rz(yaw) @ Ry(pitch) @ Rx(roll)."""
    rpy = np.asarray(rpy, dtype=np.float64)
    cr, sr = np.cos(rpy[..., 0]), np.sin(rpy[..., 0])
    cp, sp = np.cos(rpy[..., 1]), np.sin(rpy[..., 1])
    cy, sy = np.cos(rpy[..., 2]), np.sin(rpy[..., 2])
    R = np.empty(rpy.shape[:-1] + (3, 3))
    R[..., 0, 0] = cy * cp
    R[..., 0, 1] = cy * sp * sr - sy * cr
    R[..., 0, 2] = cy * sp * cr + sy * sr
    R[..., 1, 0] = sy * cp
    R[..., 1, 1] = sy * sp * sr + cy * cr
    R[..., 1, 2] = sy * sp * cr - cy * sr
    R[..., 2, 0] = -sp
    R[..., 2, 1] = cp * sr
    R[..., 2, 2] = cp * cr
    return R


def matrix_to_euler(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation -> (..., 3) roll, pitch, yaw with R = Rz Ry Rx, angles in (-pi, pi]."""
    R = np.asarray(R, dtype=np.float64)
    sy = np.hypot(R[..., 0, 0], R[..., 1, 0])
    singular = sy < 1e-6
    roll = np.where(singular, np.arctan2(-R[..., 1, 2], R[..., 1, 1]), np.arctan2(R[..., 2, 1], R[..., 2, 2]))
    pitch = np.arctan2(-R[..., 2, 0], sy)
    yaw = np.where(singular, 0.0, np.arctan2(R[..., 1, 0], R[..., 0, 0]))
    out = np.stack([roll, pitch, yaw], axis=-1)
    return np.where(out <= -np.pi, out + 2 * np.pi, out)  # atan2 gives [-pi, pi]; map -pi to pi


def actions_from_states(states: np.ndarray, gripper: np.ndarray) -> np.ndarray:
    """Raw (T-1, 7) actions from (T, >=6) poses and (T,) continuous gripper states."""
    states = np.asarray(states, dtype=np.float64)
    gripper = np.asarray(gripper, dtype=np.float64).reshape(-1)
    pos, R = states[:, :3], euler_to_matrix(states[:, 3:6])
    R_prev_T = np.swapaxes(R[:-1], -1, -2)
    d_pos = np.einsum("kij,kj->ki", R_prev_T, pos[1:] - pos[:-1])
    d_rot = matrix_to_euler(R_prev_T @ R[1:])
    return np.concatenate([d_pos, d_rot, gripper[1:, None]], axis=1)


def states_from_actions(
    actions: np.ndarray, start: np.ndarray | None = None, gripper0: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`actions_from_states`: integrate raw (T-1, 7) actions into poses.

    Returns (T, 6) xyz+rpy states from ``start`` (default the origin) and (T,) gripper states.
    """
    actions = np.asarray(actions, dtype=np.float64)
    pose = np.zeros(6) if start is None else np.asarray(start, dtype=np.float64)
    p, R = pose[:3].copy(), euler_to_matrix(pose[3:6])
    states, grip = [pose.copy()], [gripper0]
    for a in actions:
        p = p + R @ a[:3]
        R = R @ euler_to_matrix(a[3:6])
        states.append(np.concatenate([p, matrix_to_euler(R)]))
        grip.append(a[6])
    return np.stack(states), np.asarray(grip)
