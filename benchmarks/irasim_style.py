"""IRASim's forward, op for op, as the speed baseline for ``bench_model.py``.

It reproduces how IRASim's ``models/irasim.py`` computes (attention as an explicit
softmax(QK^T)V with ``.contiguous()`` head re-layouts, einops-style copies between the spatial
(B*F, N, D) and temporal (B*N, F, D) layouts, conditioning vectors repeated per row) on the
weights of a freeaction :class:`VideoDiT`, so both run the same numbers. Frame-Ada,
7-D actions (the RT-1 configuration of the benchmark). Written from IRASim's documented
semantics; no IRASim code is copied.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from freeaction.model.dit import VideoDiT


def _lin(layer, x):
    return F.linear(x, layer.weight, layer.bias)  # plain nn.Linear semantics, as in IRASim


def _seq(seq, x):  # nn.Sequential(Linear, SiLU, Linear) or (SiLU, Linear)
    for layer in seq:
        x = _lin(layer, x) if isinstance(layer, torch.nn.Linear) else layer(x)
    return x


def _modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def _attention(attn, x, num_heads):
    B, N, C = x.shape
    qkv = _lin(attn.qkv, x).reshape(B, N, 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4).contiguous()
    q, k, v = qkv.unbind(0)
    a = (q @ k.transpose(-2, -1)) * (C // num_heads) ** -0.5
    a = a.softmax(dim=-1)
    return _lin(attn.proj, (a @ v).transpose(1, 2).reshape(B, N, C))


def _block(block, x, c, num_heads):
    sa, ca, ga, sm, cm, gm = _seq(block.adaLN_modulation, c).chunk(6, dim=1)
    ln = lambda y: F.layer_norm(y, y.shape[-1:], eps=1e-6)  # noqa: E731
    x = x + ga.unsqueeze(1) * _attention(block.attn, _modulate(ln(x), sa, ca), num_heads)
    h = _lin(block.mlp.fc2, F.gelu(_lin(block.mlp.fc1, _modulate(ln(x), sm, cm)), approximate="tanh"))
    return x + gm.unsqueeze(1) * h


@torch.no_grad()
def irasim_style_forward(model: VideoDiT, x: torch.Tensor, t: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    cfg = model.config
    B, Fr, C, h, w = x.shape
    x = x.reshape(B * Fr, C, h, w)
    x = model.x_embedder(x) + model.pos_embed
    N, D = x.shape[1], x.shape[2]
    t_emb = model.t_embedder(t)  # tiny (B, D): not on the timed path
    t_spatial = t_emb.repeat_interleave(Fr, dim=0)
    t_temporal = t_emb.repeat_interleave(N, dim=0)
    a = _lin(model.embed_state.fc2, F.gelu(_lin(model.embed_state.fc1, actions), approximate="tanh"))
    mask = model.mask_emb_fn.weight[0].expand(B, 1, D)
    cond = torch.cat([mask, a], dim=1).reshape(B * Fr, D)
    c_spatial = t_spatial + cond
    for i in range(0, cfg.depth, 2):
        x = _block(model.blocks[i], x, c_spatial, cfg.num_heads)
        x = x.reshape(B, Fr, N, D).transpose(1, 2).contiguous().reshape(B * N, Fr, D)  # '(b f) t d -> (b t) f d'
        if i == 0:
            x = x + model.temp_embed
        x = _block(model.blocks[i + 1], x, t_temporal, cfg.num_heads)
        x = x.reshape(B, N, Fr, D).transpose(1, 2).contiguous().reshape(B * Fr, N, D)  # back
    shift, scale = _seq(model.final_layer.adaLN_modulation, t_spatial).chunk(2, dim=1)
    x = _lin(model.final_layer.linear, _modulate(F.layer_norm(x, (D,), eps=1e-6), shift, scale))
    p, c = cfg.patch_size, cfg.out_channels
    gh, gw = model.grid
    x = x.reshape(B * Fr, gh, gw, p, p, c)
    x = torch.einsum("nhwpqc->nchpwq", x).reshape(B, Fr, c, gh * p, gw * p)
    return x
