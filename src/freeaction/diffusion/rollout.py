"""Short and long (autoregressive) rollouts over whole trajectories (docs/method.md §1).

A long trajectory is generated in chunks of ``num_frames - 1`` actions; the last generated
latent of a chunk is the context frame of the next. The final partial chunk is padded by
repeating its first action, and only its real frames are kept. Frames leave through ``sink``
as soon as a chunk is done, so memory stays flat however long the trajectory is.
FreeAction's per-sample quantities (guidance weight, truncation tau) are computed per chunk,
because the sampler computes them from the chunk's actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from freeaction.diffusion.sampler import sample

Sink = Callable[[torch.Tensor], None]


def num_chunks(num_actions: int, chunk: int) -> int:
    """How many chunks of ``chunk`` actions a rollout of ``num_actions`` actions samples."""
    return -(-int(num_actions) // int(chunk))


def pad_chunk(actions: torch.Tensor, length: int) -> torch.Tensor:
    """(B, k, A) with k <= length -> (B, length, A), padded by repeating the chunk's first action."""
    k = actions.shape[1]
    if k == length:
        return actions
    return torch.cat([actions, actions[:, :1].expand(-1, length - k, -1)], dim=1)


@torch.no_grad()
def rollout(
    model: torch.nn.Module,
    context: torch.Tensor,
    actions: torch.Tensor,
    *,
    sink: Sink | None = None,
    chunk: int | None = None,
    keep: bool = True,
    progress: bool = False,
    **sample_kwargs: Any,
) -> torch.Tensor | None:
    """Generate (B, L + 1, C, h, w) latents for (B, L, A) actions of any length L >= 1.

    sink: called with each new block of frames (B, k, C, h, w), starting with the context frame.
    keep: also return the whole latent video (set False for long rollouts streamed to disk).
    Other keyword arguments go to :func:`freeaction.diffusion.sampler.sample` for every chunk
    (a ``callback`` sees every step of every chunk: ``num_chunks * num_sampling_steps`` calls).
    """
    chunk = chunk or model.config.num_frames - 1
    B, L = actions.shape[:2]
    if L < 1:
        raise ValueError("a rollout needs at least one action")
    if context.ndim == 5:
        context = context[:, 0]
    kept: list[torch.Tensor] = []

    def emit(frames: torch.Tensor) -> None:
        if sink is not None:
            sink(frames)
        if keep:
            kept.append(frames)

    emit(context[:, None])
    starts = range(0, L, chunk)
    for i, s in enumerate(starts):
        real = min(chunk, L - s)
        latents = sample(model, context, pad_chunk(actions[:, s : s + real], chunk), progress=False, **sample_kwargs)
        emit(latents[:, 1 : real + 1])
        context = latents[:, real]
        if progress:
            print(f"rollout: chunk {i + 1}/{len(starts)} done ({s + real}/{L} actions)", flush=True)
    return torch.cat(kept, dim=1) if keep else None
