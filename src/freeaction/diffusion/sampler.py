"""The sampling loop: one clip (context frame + actions) -> generated latents.

A plain function in the style of k-diffusion's samplers. Per step it asks the guidance for a
weight per sample; samples with a non-zero weight get their negative branch evaluated in the
*same* batched forward pass as the conditional one. After every scheduler step the clean
context frame is written back over frame 0 (IRASim's ``mask_frame_num = 1``).

Progress: ``callback(i, t, x)`` runs after every step of one call; :func:`observe_steps` registers
a callback for every step of every call made inside a ``with`` block, for a caller whose sampling
runs deeper down (the demo's evaluation); :func:`num_sampling_steps` says how many steps a call makes.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from freeaction.diffusion.schedulers import fresh_copy, make_scheduler
from freeaction.method.guidance import Guidance, NoGuidance, combine
from freeaction.method.truncation import GaussianNoise, Generators, NoiseSampler

StepCallback = Callable[[int, int, torch.Tensor], None]
"""``callback(i, t, x)``: step ``i`` (from 0) at timestep ``t`` is done; ``x`` holds the latents."""

_step_observers: ContextVar[tuple[StepCallback, ...]] = ContextVar("step_observers", default=())


@contextlib.contextmanager
def observe_steps(callback: StepCallback) -> Iterator[None]:
    """Call ``callback(i, t, x)`` after every step of every :func:`sample` call made inside the block
    (in this thread or task), whoever makes it; blocks nest."""
    token = _step_observers.set((*_step_observers.get(), callback))
    try:
        yield
    finally:
        _step_observers.reset(token)


def num_sampling_steps(scheduler: object | str, num_steps: int) -> int:
    """The steps (model-call rounds) one :func:`sample` call makes: ``num_steps``, except for
    schedulers that add warm-up steps (PNDM 50 makes 59)."""
    sched = make_scheduler(scheduler) if isinstance(scheduler, str) else fresh_copy(scheduler)
    sched.set_timesteps(num_steps)
    return len(sched.timesteps)


@dataclass
class SampleStats:
    """What a sampling run cost: model calls and the samples evaluated across them."""

    model_calls: int = 0
    rows_evaluated: int = 0


def guided_epsilon(
    model: torch.nn.Module,
    x: torch.Tensor,
    t: torch.Tensor,
    actions: torch.Tensor,
    guidance: Guidance,
    autocast_dtype: torch.dtype | None = None,
    stats: SampleStats | None = None,
) -> torch.Tensor:
    """eps_hat for one step: the conditional prediction, guided where w(a, t) != 0."""
    B = x.shape[0]
    t_value = float(t.reshape(-1)[0])
    w = guidance.weight(actions, t_value)
    active = (w != 0).nonzero().flatten()
    x_in, a_in, null_in = x, actions, None
    if len(active):
        neg_actions, neg_null = guidance.negative_branch(actions[active])
        x_in = torch.cat([x, x[active]])
        a_in = torch.cat([actions, neg_actions])
        if neg_null is not None:
            null_in = torch.cat([torch.zeros(B, dtype=torch.bool, device=x.device), neg_null])
    t_in = t.reshape(-1).expand(x_in.shape[0]) if t.numel() == 1 else torch.cat([t, t[active]])
    ctx = torch.autocast(x.device.type, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext()
    with ctx:
        eps = model(x_in, t_in, a_in, null_condition=null_in)
    eps = eps.float()[:, :, : x.shape[2]]  # learned-sigma models: keep the epsilon channels
    if stats is not None:
        stats.model_calls += 1
        stats.rows_evaluated += x_in.shape[0]
    eps_cond = eps[:B]
    if not len(active):
        return eps_cond
    eps_cond = eps_cond.clone()
    eps_cond[active] = combine(eps_cond[active], eps[B:], w[active])
    return eps_cond


@torch.no_grad()
def sample(
    model: torch.nn.Module,
    context: torch.Tensor,
    actions: torch.Tensor,
    *,
    scheduler: object | str = "pndm",
    num_steps: int = 50,
    guidance: Guidance | None = None,
    noise: NoiseSampler | None = None,
    generator: Generators = None,
    autocast_dtype: torch.dtype | None = None,
    progress: bool = False,
    callback: StepCallback | None = None,
    stats: SampleStats | None = None,
) -> torch.Tensor:
    """Generate the frames that follow ``context`` under ``actions``.

    context: (B, C, h, w) clean scaled latent of the first frame; actions: (B, n, A) in model
    space; returns (B, n + 1, C, h, w) latents whose frame 0 is the context.
    scheduler: a diffusers scheduler (copied, never mutated) or a name (pndm, ddim, ddpm, dpm++).
    generator: one ``torch.Generator`` for the batch, or one per sample (reproducible per clip).
    callback: called as ``callback(i, t, x)`` after each step (as are the :func:`observe_steps` ones).
    """
    if context.ndim == 5:
        context = context[:, 0]
    if context.ndim != 4 or actions.ndim != 3 or actions.shape[0] != context.shape[0]:
        raise ValueError(
            f"context must be (B, C, h, w) and actions (B, n, A) with the same B; "
            f"got {tuple(context.shape)} and {tuple(actions.shape)}"
        )
    if not torch.isfinite(actions).all():
        raise ValueError("actions contain NaN or Inf")
    guidance = guidance or NoGuidance()
    noise = noise or GaussianNoise()
    sched = make_scheduler(scheduler) if isinstance(scheduler, str) else fresh_copy(scheduler)
    sched.set_timesteps(num_steps, device=context.device)
    step_kwargs = {"generator": generator} if "generator" in inspect.signature(sched.step).parameters else {}
    if isinstance(generator, (list, tuple)) and "generator" in step_kwargs:
        step_kwargs["generator"] = list(generator)

    B, (C, h, w), n = context.shape[0], context.shape[1:], actions.shape[1]
    actions = actions.to(context.device, torch.float32)
    x = noise((B, n + 1, C, h, w), actions, generator).to(context.device) * sched.init_noise_sigma
    x[:, 0] = context
    timesteps = sched.timesteps
    for i, t in enumerate(tqdm(timesteps, desc="sampling", disable=not progress, leave=False)):
        x_in = sched.scale_model_input(x, t)
        eps = guided_epsilon(model, x_in, t.reshape(1).to(context.device), actions, guidance, autocast_dtype, stats)
        x = sched.step(eps, t, x, **step_kwargs, return_dict=False)[0]
        x[:, 0] = context
        for observer in (callback, *_step_observers.get()):
            if observer is not None:
                observer(i, int(t), x)
    return x
