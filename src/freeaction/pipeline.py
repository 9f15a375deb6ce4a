"""The Python API the CLI is a thin layer over: a loaded world model that generates videos.

    >>> wm = WorldModel.load("path/to/checkpoint", vae="path/to/vae")
    >>> latents = wm.generate(first_frame, actions, method=STANDARD_METHODS["freeaction"], seed=0)
    >>> frames = wm.decode(latents)

``generate`` runs a short clip or, for more actions than the model's window, an autoregressive
rollout; ``generate_batch`` does the same for a batch of clips with one seed per clip.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freeaction.diffusion.rollout import rollout
from freeaction.diffusion.sampler import SampleStats, StepCallback
from freeaction.diffusion.schedulers import DEFAULT_STEPS
from freeaction.errors import CheckpointError, InputError, SamplingError
from freeaction.method import STANDARD_METHODS, Method, MuAct, resolve_method_mu_act
from freeaction.model import VideoDiT, load_model
from freeaction.runtime import tune_cpu_allocator
from freeaction.vae import decode, encode, load_vae, vae_downsample_factor

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
MAX_ABS_ACTION = 1e4
"""The largest |action| :meth:`WorldModel.generate` accepts, in model space. Model-space actions are
O(1) (robot units times the SPEC scaler: a pusher step is ~0.4); far larger ones overflow the
action embedding to Inf and the sampler to NaN, which decodes to a black video."""


class WorldModel:
    """A video DiT plus (optionally) its VAE and action statistics, ready to sample."""

    def __init__(
        self,
        model: VideoDiT,
        vae: Any = None,
        *,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        compile: bool = False,
    ) -> None:
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
        self.device = torch.device(device)
        if self.device.type == "cpu":
            tune_cpu_allocator()
        self.model = model.to(self.device).eval()
        self.config = model.config
        self.vae = vae.to(self.device) if vae is not None else None
        self.autocast_dtype = PRECISIONS[precision]
        self._action_stats: dict[str, Any] | None = None
        self._stats_source = "the action statistics set on the WorldModel"
        self._net: torch.nn.Module = torch.compile(self.model) if compile else self.model
        if compile:
            self._net.config = self.model.config  # the sampler reads config.num_frames

    @classmethod
    def load(
        cls,
        checkpoint: str | os.PathLike[str],
        vae: str | os.PathLike[str] | None = None,
        *,
        device: str = "cpu",
        precision: str = "fp32",
        compile: bool = False,
        **model_overrides: Any,
    ) -> WorldModel:
        """Load a checkpoint; the VAE defaults to a ``vae/`` folder inside a checkpoint folder."""
        from freeaction.shipped import resolve_checkpoint

        checkpoint = resolve_checkpoint(checkpoint)
        model = load_model(checkpoint, **model_overrides)
        if vae is None and Path(checkpoint).is_dir() and (Path(checkpoint) / "vae").is_dir():
            vae = Path(checkpoint) / "vae"
        return cls(
            model, load_vae(vae) if vae is not None else None, device=device, precision=precision, compile=compile
        )

    # -- statistics ------------------------------------------------------------------------------
    @property
    def action_stats(self) -> dict[str, Any] | None:
        """The training clips' action statistics (``mu_act``...): set by the user, else the checkpoint's."""
        return self._action_stats if self._action_stats is not None else self.model.checkpoint_info.get("action_stats")

    @action_stats.setter
    def action_stats(self, stats: dict[str, Any] | None) -> None:
        self.set_action_stats(stats)

    @property
    def action_stats_source(self) -> str:
        """Where :attr:`action_stats` come from, for messages."""
        return self._stats_source if self._action_stats is not None else "the checkpoint's action statistics"

    def set_action_stats(self, stats: dict[str, Any] | None, source: str | None = None) -> None:
        """Use ``stats`` (e.g. a dataset's ``freeaction_stats.json``, named ``source`` in messages)
        for ``mu_act`` instead of the checkpoint's; they must match the method's m(a) and window."""
        self._action_stats = stats
        if source is not None:
            self._stats_source = source

    def resolve(self, method: Method) -> tuple[Method, MuAct | None]:
        """``method`` checked against this model's action dimension, with ``mu_act`` chosen by the
        one rule (:func:`freeaction.method.resolve_mu_act`): the method's own, else the statistics
        set by the user (must match its m(a) and this model's window), else the checkpoint's."""
        method.check_action_dim(self.config.action_dim)
        return resolve_method_mu_act(
            method,
            None,
            self._action_stats,
            self.model.checkpoint_info.get("action_stats"),
            self.config.num_frames,
            stats_name=self._stats_source,
        )

    # -- pixels <-> latents ----------------------------------------------------------------------
    def _require_vae(self) -> Any:
        if self.vae is None:
            raise CheckpointError(
                "this needs a VAE: pass vae=PATH (CLI --vae) with a local diffusers AutoencoderKL folder, "
                "e.g. the SDXL VAE for IRASim checkpoints"
            )
        return self.vae

    @property
    def frame_size(self) -> tuple[int, int] | None:
        if self.vae is None:
            return None
        f = vae_downsample_factor(self.vae)
        return self.config.latent_size[0] * f, self.config.latent_size[1] * f

    def encode(self, frames: np.ndarray) -> torch.Tensor:
        """RGB uint8 (N, H, W, 3) -> scaled latents (N, C, h, w)."""
        vae = self._require_vae()
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.shape[1:3] != self.frame_size:
            raise InputError(
                f"frame size {frames.shape[2]}x{frames.shape[1]} (WxH) does not match the model: it takes "
                f"{self.frame_size[1]}x{self.frame_size[0]} images ({self.config.latent_size[1]}x"
                f"{self.config.latent_size[0]} latents x{vae_downsample_factor(vae)}); resize the image "
                "(CLI --resize)"
            )
        return encode(vae, frames).to(self.device)

    def decode(self, latents: torch.Tensor, quantize: str = "round") -> np.ndarray:
        """Scaled latents (..., C, h, w) -> RGB uint8 frames (..., H, W, 3); ``quantize``: ``"round"``
        or ``"truncate"`` (see :func:`freeaction.vae.decode`).

        Raises :class:`SamplingError` for NaN or Inf latents (they would decode to black frames)."""
        if not torch.isfinite(latents).all():
            raise SamplingError(
                "sampling produced NaN or Inf latents, which would decode to black frames; the "
                "guidance scale, actions or weights drive the model out of range"
            )
        lead = latents.shape[:-3]
        frames = decode(self._require_vae(), latents.reshape(-1, *latents.shape[-3:]), quantize=quantize)
        return frames.reshape(*lead, *frames.shape[1:])

    # -- sampling --------------------------------------------------------------------------------
    def check_actions(self, actions: torch.Tensor) -> None:
        """Raise :class:`InputError` unless ``actions`` (..., A) are finite model-space actions of
        this model's width with |a| <= :data:`MAX_ABS_ACTION`."""
        A = self.config.action_dim
        if actions.shape[-1] != A:
            raise InputError(f"actions have {actions.shape[-1]} dimensions per step; this model takes {A}")
        if not torch.isfinite(actions).all():
            raise InputError("actions contain NaN or Inf")
        largest = float(actions.abs().max()) if actions.numel() else 0.0
        if largest > MAX_ABS_ACTION:
            raise InputError(
                f"actions reach {largest:.3g} in model space; at most {MAX_ABS_ACTION:g} is accepted "
                "(model-space actions are O(1): robot units times the SPEC scaler)"
            )

    def generate(
        self,
        first: np.ndarray | torch.Tensor,
        actions: np.ndarray | torch.Tensor,
        *,
        method: Method | None = None,
        sampler: str = "pndm",
        steps: int | None = None,
        seed: int | None = 0,
        sink: Callable[[torch.Tensor], None] | None = None,
        keep: bool = True,
        progress: bool = False,
        stats: SampleStats | None = None,
        callback: StepCallback | None = None,
    ) -> torch.Tensor | None:
        """One video: ``first`` is an RGB uint8 (H, W, 3) frame or a scaled latent (C, h, w);
        ``actions`` (L, A) are model-space. Returns (L + 1, C, h, w) latents (None if not ``keep``);
        ``sink`` gets each new block of latents (k, C, h, w) as soon as it exists; ``callback(i, t, x)``
        runs after every sampling step of every chunk (progress: see
        :func:`freeaction.diffusion.sampler.num_sampling_steps`)."""
        if isinstance(first, np.ndarray) and first.dtype == np.uint8:
            context = self.encode(first)
        else:
            context = torch.as_tensor(first, dtype=torch.float32)[None]
        batch_sink = (lambda x: sink(x[0])) if sink is not None else None
        out = self.generate_batch(
            context,
            torch.as_tensor(np.asarray(actions), dtype=torch.float32)[None],
            method=method,
            sampler=sampler,
            steps=steps,
            seeds=[seed],
            sink=batch_sink,
            keep=keep,
            progress=progress,
            stats=stats,
            callback=callback,
        )
        return None if out is None else out[0]

    def generate_batch(
        self,
        contexts: torch.Tensor,
        actions: torch.Tensor,
        *,
        method: Method | None = None,
        sampler: str = "pndm",
        steps: int | None = None,
        seeds: Sequence[int | None] | None = None,
        sink: Callable[[torch.Tensor], None] | None = None,
        keep: bool = True,
        progress: bool = False,
        stats: SampleStats | None = None,
        callback: StepCallback | None = None,
    ) -> torch.Tensor | None:
        """Batched :meth:`generate`: contexts (B, C, h, w) latents, actions (B, L, A), one seed per
        clip. A clip's noise does not depend on what else is in the batch; its result does only
        through floating point: matrix kernels sum in an order that depends on the batch size, so a
        clip sampled in another batch (e.g. a resumed evaluation's smaller last batch) can differ in
        the last bits (measured: up to ~4e-6 relative on a metric)."""
        method = method or STANDARD_METHODS["unguided"]
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1):
            raise InputError(f"steps must be a whole number >= 1 (None: the sampler's default), got {steps!r}")
        actions = actions.to(self.device, torch.float32)
        self.check_actions(actions)
        seeds = list(seeds) if seeds is not None else [None] * len(actions)
        if len(seeds) != len(actions):
            raise InputError(f"{len(seeds)} seeds for {len(actions)} clips")
        generators = []
        for s in seeds:
            g = torch.Generator(device="cpu")
            g.manual_seed(int(s)) if s is not None else g.seed()
            generators.append(g)
        method, _ = self.resolve(method)
        return rollout(
            self._net,
            contexts.to(self.device, torch.float32),
            actions,
            sink=sink,
            keep=keep,
            progress=progress,
            chunk=self.config.num_frames - 1,
            scheduler=sampler,
            num_steps=steps or DEFAULT_STEPS.get(sampler, 50),
            guidance=method.guidance,
            noise=method.truncation,
            generator=generators,
            autocast_dtype=self.autocast_dtype,
            stats=stats,
            callback=callback,
        )
