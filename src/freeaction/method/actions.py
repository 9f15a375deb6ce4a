"""m(a) and -a: the two things FreeAction computes from an action chunk.

- ``magnitude`` is m(a) (docs/method.md §3): by default the L2 norm of the whole flattened model-space
  chunk; ``"mean_step"`` is the mean of the per-step L2 norms. ``dims`` restricts either to
  chosen dimensions (e.g. the motion deltas without the gripper).
- ``negate`` builds -a for the negative guidance branch; ``dims`` restricts the negation to
  chosen dimensions (e.g. keep the absolute gripper state, which has no meaningful negative).

This module imports nothing else from freeaction: the dataset statistics (``mu_act``) use it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch

MagnitudeKind = Literal["l2", "mean_step"]
MAGNITUDE_KINDS: tuple[str, ...] = ("l2", "mean_step")


def _select(actions: torch.Tensor, dims: Sequence[int] | None) -> torch.Tensor:
    if dims is None:
        return actions
    d = actions.shape[-1]
    bad = [i for i in dims if not -d <= i < d]
    if bad:
        raise ValueError(f"dims {bad} out of range for {d}-D actions")
    return actions[..., list(dims)]


def magnitude(
    actions: torch.Tensor | np.ndarray,
    kind: MagnitudeKind = "l2",
    dims: Sequence[int] | None = None,
) -> torch.Tensor:
    """m(a) for a batch of chunks (B, n, D) -> (B,), or one chunk (n, D) -> scalar tensor."""
    a = torch.as_tensor(actions, dtype=torch.float32) if isinstance(actions, np.ndarray) else actions
    a = _select(a.float(), dims)
    if kind == "l2":
        return a.flatten(-2).norm(dim=-1)
    if kind == "mean_step":
        return a.norm(dim=-1).mean(dim=-1)
    raise ValueError(f"unknown magnitude kind {kind!r}; choose one of {MAGNITUDE_KINDS}")


def negate(actions: torch.Tensor, dims: Sequence[int] | None = None) -> torch.Tensor:
    """-a, or a with only ``dims`` negated (the others, e.g. the gripper state, kept)."""
    if dims is None:
        return -actions
    sign = torch.ones(actions.shape[-1], dtype=actions.dtype, device=actions.device)
    sign[list(dims)] = -1
    return actions * sign
