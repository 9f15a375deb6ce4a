"""One world-model panel: a long rollout generated one chunk at a time, on demand.

A :class:`PanelStream` is the state of :meth:`freeaction.WorldModel.generate`'s rollout between
two chunks: the context latent (the last frame of the previous chunk) and the sampling random
generator. Generating chunk after chunk with the same seed is therefore exactly what ``generate``
does with all the actions at once, so ``freeaction generate`` reproduces a played panel. A chunk
can be generated ahead and thrown away: :meth:`PanelStream.generate` starts from any
:class:`StreamState` (the panel's first one, or the one after an earlier chunk) and returns the
state after the new chunk, without changing the stream.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from freeaction import Method
from freeaction.diffusion.rollout import rollout
from freeaction.pipeline import WorldModel
from freeaction.play.method_options import chunk_figures, sampling_parts


class Cancelled(Exception):
    """A chunk's generation was stopped because its result is no longer wanted."""


@dataclass(frozen=True)
class StreamState:
    """Where the next chunk starts: the context latent (C, h, w) and the generator's state."""

    context: torch.Tensor
    rng_state: torch.Tensor


@dataclass(frozen=True)
class ChunkResult:
    """One generated chunk of one panel: new latents (k, C, h, w), their frames, and the figures
    the page shows (m(a), the guidance weight w at the first step, the truncation tau)."""

    latents: torch.Tensor
    frames: np.ndarray
    after: StreamState
    m: float
    w: float
    tau: float | None


class PanelStream:
    """The world model with one method, rolled out chunk by chunk from a first frame."""

    def __init__(self, wm: WorldModel, method: Method, first: np.ndarray, *, sampler: str, steps: int,
                 seed: int) -> None:
        self.wm, self.method, self.sampler, self.steps, self.seed = wm, method, sampler, steps, seed
        self.chunk = wm.config.num_frames - 1
        self.guidance, self.noise = sampling_parts(wm, method)
        generator = torch.Generator(device="cpu")
        generator.manual_seed(int(seed))
        self.start = StreamState(wm.encode(first)[0].cpu(), generator.get_state())
        self.first_frame = wm.decode(self.start.context[None])[0]  # what the model sees: the VAE's reconstruction

    def generate(self, start: StreamState, actions: np.ndarray, cancel: threading.Event | None = None) -> ChunkResult:
        """The ``chunk`` frames that follow ``start`` under (chunk, A) model-space actions.

        Raises :class:`Cancelled` (between sampler steps) once ``cancel`` is set.
        """
        if len(actions) != self.chunk:
            raise ValueError(f"a chunk has {self.chunk} actions, got {len(actions)}")
        a = torch.as_tensor(np.asarray(actions, np.float32))
        generator = torch.Generator(device="cpu")
        generator.set_state(start.rng_state)

        def check(step: int, t: int, x: torch.Tensor) -> None:
            if cancel is not None and cancel.is_set():
                raise Cancelled

        latents = rollout(
            self.wm.model, start.context[None].to(self.wm.device), a[None].to(self.wm.device),
            chunk=self.chunk, scheduler=self.sampler, num_steps=self.steps, guidance=self.guidance,
            noise=self.noise, generator=[generator], autocast_dtype=self.wm.autocast_dtype, callback=check,
        )[0, 1:].cpu()
        frames = self.wm.decode(latents)
        m, w, tau = chunk_figures(self.guidance, self.noise, a)
        return ChunkResult(latents, frames, StreamState(latents[-1], generator.get_state()), m, w, tau)
