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

from freeaction.actions import magnitude
from freeaction.diffusion.rollout import rollout
from freeaction.diffusion.schedulers import NUM_TRAIN_TIMESTEPS
from freeaction.methods import Method
from freeaction.noise import ActionScaledTruncation
from freeaction.pipeline import WorldModel


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


def chunk_figures(method: Method, mu_act: float | None, actions: torch.Tensor) -> tuple[float, float, float | None]:
    """m(a), w at t = T (the guidance weight while it is on) and tau of one (n, A) model-space chunk."""
    a = actions[None]
    m = float(magnitude(a)[0])
    w = float(method.build_guidance().weight(a, NUM_TRAIN_TIMESTEPS - 1)[0])
    noise = method.build_noise(mu_act) if method.truncation.get("type") == "action_scaled" else method.build_noise()
    if isinstance(noise, ActionScaledTruncation):
        return m, w, float(noise.tau(a)[0])
    tau = getattr(noise, "tau", None)
    return m, w, None if tau is None else float(tau)


class PanelStream:
    """The world model with one method, rolled out chunk by chunk from a first frame."""

    def __init__(self, wm: WorldModel, method: Method, first: np.ndarray, *, sampler: str, steps: int,
                 seed: int) -> None:
        self.wm, self.method, self.sampler, self.steps, self.seed = wm, method, sampler, steps, seed
        self.chunk = wm.config.num_frames - 1
        self.mu_act = wm.mu_act_for(method)
        self.guidance = method.build_guidance()
        self.noise = method.build_noise(self.mu_act)
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
        m, w, tau = chunk_figures(self.method, self.mu_act, a)
        return ChunkResult(latents, frames, StreamState(latents[-1], generator.get_state()), m, w, tau)
