"""The sampler against IRASim's sampling loop run on diffusers directly, and its invariants."""

from __future__ import annotations

import pytest
import torch
from diffusers import PNDMScheduler

from freeaction.diffusion.sampler import SampleStats, sample
from freeaction.diffusion.schedulers import SCHEDULERS, make_scheduler
from freeaction.method import ActionScaledTruncation, FreeActionGuidance


@torch.no_grad()  # as IRASim's pipeline __call__
def irasim_reference_loop(model, context, actions, generator, steps=50):
    """IRASim's Trajectory2VideoGenPipeline: PNDM from its scheduler config, mask frame written back."""
    sched = PNDMScheduler(
        num_train_timesteps=1000,
        beta_start=1e-4,
        beta_end=0.02,
        beta_schedule="linear",
        steps_offset=0,
        timestep_spacing="linspace",
    )
    sched.set_timesteps(steps)
    B, (C, h, w), n = context.shape[0], context.shape[1:], actions.shape[1]
    mask_x = context[:, None]
    latents = torch.randn((B, n + 1, C, h, w), generator=generator)
    latents = torch.cat([mask_x, latents[:, 1:]], dim=1) * sched.init_noise_sigma
    calls = 0
    for t in sched.timesteps:
        eps = model(latents, t.reshape(1).expand(B).float(), actions)
        calls += 1
        latents = sched.step(eps, t, latents, return_dict=False)[0]
        latents = torch.cat([mask_x, latents[:, 1:]], dim=1)
    return latents, calls


def test_pndm_matches_irasims_loop_and_makes_59_calls(tiny_model) -> None:
    context = torch.randn(2, 4, 8, 8)
    actions = torch.randn(2, 15, 2)
    ref, ref_calls = irasim_reference_loop(tiny_model, context, actions, torch.Generator().manual_seed(0))
    stats = SampleStats()
    with torch.no_grad():
        ours = sample(
            tiny_model,
            context,
            actions,
            scheduler="pndm",
            num_steps=50,
            generator=torch.Generator().manual_seed(0),
            stats=stats,
        )
    assert ref_calls == 59 and stats.model_calls == 59
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_irasim_timesteps() -> None:
    s = make_scheduler("pndm")
    s.set_timesteps(50)
    assert len(s.timesteps) == 59 and s.timesteps[0] == 999 and s.timesteps[-1] == 0


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_every_sampler_keeps_the_context_and_is_reproducible(tiny_model, name) -> None:
    context = torch.randn(1, 4, 8, 8)
    actions = torch.randn(1, 15, 2)
    steps = 20 if name == "ddpm" else 8

    def run():
        return sample(
            tiny_model, context, actions, scheduler=name, num_steps=steps, generator=[torch.Generator().manual_seed(5)]
        )

    a, b = run(), run()
    assert torch.equal(a, b)
    assert torch.equal(a[:, 0], context)
    assert torch.isfinite(a).all() and a.shape == (1, 16, 4, 8, 8)


def test_freeaction_calls_cost_about_1_5x(tiny_model) -> None:
    context = torch.randn(2, 4, 8, 8)
    actions = torch.randn(2, 15, 2)
    plain, guided = SampleStats(), SampleStats()
    sample(tiny_model, context, actions, scheduler="ddim", num_steps=20, stats=plain)
    out = sample(
        tiny_model,
        context,
        actions,
        scheduler="ddim",
        num_steps=20,
        stats=guided,
        guidance=FreeActionGuidance(),
        noise=ActionScaledTruncation(mu_act=1.0),
    )
    assert plain.model_calls == guided.model_calls == 20  # one batched forward per step
    assert guided.rows_evaluated == plain.rows_evaluated + 2 * 10  # negatives only for t > 500
    assert torch.equal(out[:, 0], context)


def test_guidance_changes_the_result(tiny_model) -> None:
    context, actions = torch.randn(1, 4, 8, 8), torch.randn(1, 15, 2)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    a = sample(tiny_model, context, actions, scheduler="ddim", num_steps=10, generator=g())
    b = sample(
        tiny_model,
        context,
        actions,
        scheduler="ddim",
        num_steps=10,
        generator=g(),
        guidance=FreeActionGuidance(scale=1.0),
    )
    assert (a - b).abs().max() > 1e-3


def test_bad_inputs(tiny_model) -> None:
    with pytest.raises(ValueError, match="NaN"):
        sample(tiny_model, torch.randn(1, 4, 8, 8), torch.full((1, 15, 2), float("nan")), num_steps=2)
    with pytest.raises(ValueError, match="same B"):
        sample(tiny_model, torch.randn(2, 4, 8, 8), torch.randn(1, 15, 2), num_steps=2)
    with pytest.raises(ValueError, match="unknown sampler"):
        make_scheduler("euler-magic")
