"""Long autoregressive rollouts (docs/method.md §1): chunking, padding, context hand-over, streaming."""

from __future__ import annotations

import torch

from freeaction.diffusion import rollout as rollout_module
from freeaction.diffusion.rollout import pad_chunk, rollout


def test_pad_chunk_repeats_the_first_action() -> None:
    a = torch.tensor([[[1.0, 1.0], [2.0, 2.0]]])
    assert pad_chunk(a, 4)[0].tolist() == [[1, 1], [2, 2], [1, 1], [1, 1]]


def test_chunks_context_and_padding(tiny_model, monkeypatch) -> None:
    calls = []

    def fake_sample(model, context, actions, **kw):
        calls.append((context.clone(), actions.clone()))
        n = actions.shape[1]
        steps = torch.arange(1, n + 1, dtype=torch.float32).reshape(1, n, 1, 1, 1) + 100 * len(calls)
        return torch.cat([context[:, None], steps.expand(context.shape[0], n, *context.shape[1:])], dim=1)

    monkeypatch.setattr(rollout_module, "sample", fake_sample)
    context = torch.zeros(1, 4, 8, 8)
    actions = torch.arange(40, dtype=torch.float32).reshape(1, 40, 1).expand(1, 40, 2).contiguous()
    streamed = []
    out = rollout(tiny_model, context, actions, sink=lambda f: streamed.append(f.shape[1]))
    assert len(calls) == 3  # 15 + 15 + 10
    assert out.shape == (1, 41, 4, 8, 8) and streamed == [1, 15, 15, 10]
    # chunk 2 starts from chunk 1's last generated latent
    assert torch.equal(calls[1][0], torch.full((1, 4, 8, 8), 115.0))
    # the final partial chunk is padded with its own first action (30)
    assert calls[2][1][0, 10:, 0].tolist() == [30.0] * 5
    # only its 10 real frames are kept
    assert out[0, -1, 0, 0, 0] == 310.0 and out[0, 31, 0, 0, 0] == 301.0


def test_real_rollout_streams_without_keeping(tiny_model) -> None:
    context, actions = torch.randn(1, 4, 8, 8), torch.randn(1, 20, 2)
    frames = []
    out = rollout(tiny_model, context, actions, sink=frames.append, keep=False, scheduler="ddim", num_steps=3)
    assert out is None and sum(f.shape[1] for f in frames) == 21
    assert torch.equal(frames[0][:, 0], context)


def test_step_callbacks_see_every_step_of_every_chunk(tiny_model) -> None:
    from freeaction.diffusion.rollout import num_chunks
    from freeaction.diffusion.sampler import num_sampling_steps, observe_steps

    context, actions = torch.zeros(1, 4, 8, 8), torch.zeros(1, 20, 2)
    direct, observed = [], []
    with observe_steps(lambda i, t, x: observed.append(t)):
        rollout(tiny_model, context, actions, scheduler="ddim", num_steps=3, keep=False,
                callback=lambda i, t, x: direct.append(i))
    per_chunk = num_sampling_steps("ddim", 3)
    assert per_chunk == 3 and num_chunks(20, 15) == 2
    assert direct == [0, 1, 2, 0, 1, 2] and len(observed) == num_chunks(20, 15) * per_chunk
    rollout(tiny_model, context, actions[:, :5], scheduler="ddim", num_steps=3, keep=False)
    assert len(observed) == 6  # the observer is gone after its block
    assert num_sampling_steps("pndm", 50) == 59  # PNDM's warm-up steps count
