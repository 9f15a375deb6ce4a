"""``context_attention``: after every spatial block, each frame's tokens attend to the context frame's."""

from __future__ import annotations

import copy
import math

import torch

from freeaction import load_model, save_model
from freeaction.model.dit import ContextAttention, layer_norm
from tiny_dit import random_trajectory_dit


def test_every_token_attends_to_the_context_frames_tokens_only() -> None:
    torch.manual_seed(0)
    attn = ContextAttention(16, 2)
    for p in attn.parameters():
        p.data.normal_(0, 0.3)
    x = torch.randn(2, 4, 9, 16)  # (B, F, N, D)
    with torch.no_grad():
        out = attn(x)
        # a reference written out: softmax(q k^T / sqrt(d)) v per head, keys and values from frame 0
        n = layer_norm(x)
        q = attn.q(n).view(2, 4, 9, 2, 8)
        k, v = attn.kv(n[:, 0]).view(2, 9, 2, 2, 8).unbind(2)
        w = torch.einsum("bfnhd,bmhd->bfhnm", q, k).div(math.sqrt(8)).softmax(-1)
        ref = attn.proj(torch.einsum("bfhnm,bmhd->bfnhd", w, v).reshape(2, 4, 9, 16))
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
        # frame 3's token 0 sees frame 0's token 8, but nothing of frame 2
        moved, other = x.clone(), x.clone()
        moved[:, 0, 8] += torch.randn(16)
        other[:, 2] += torch.randn(9, 16)
        assert (attn(moved)[:, 3, 0] - out[:, 3, 0]).abs().max() > 1e-3
        torch.testing.assert_close(attn(other)[:, 3], out[:, 3])


def test_growing_a_trained_model_keeps_its_function_and_roundtrips(tmp_path) -> None:
    base = random_trajectory_dit(0, context_attention=False)
    grown = base.grown(context_attention=True).eval()
    assert grown.config.context_attention and len(grown.context_attn) == base.config.depth // 2
    assert all(a.proj.weight.abs().sum() == 0 for a in grown.context_attn)
    x, t, a = torch.randn(2, 6, 4, 8, 8), torch.tensor([10, 900]), torch.randn(2, 5, 2)
    with torch.no_grad():
        torch.testing.assert_close(grown(x, t, a), base(x, t, a))
    trained = random_trajectory_dit(1, context_attention=True)  # trained: the context frame reaches the others
    loaded = load_model(save_model(trained, tmp_path / "context"))
    assert loaded.config.context_attention
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t, a), trained(x, t, a))
        without = copy.deepcopy(trained)  # the same weights with the branch's output projections zeroed
        for attn in without.context_attn:
            attn.proj.weight.zero_()
            attn.proj.bias.zero_()
        assert (trained(x, t, a) - without(x, t, a)).abs().max() > 1e-3
