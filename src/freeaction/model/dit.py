"""The video diffusion transformer: IRASim's Frame-Ada / Video-Ada DiT in one file.

It computes the same function as IRASim's ``models/irasim.py`` (golden tests against IRASim's
own outputs) and loads IRASim's state dicts under their original key names, but is laid out
for speed: tokens stay in one (B, F, N, D) tensor, attention is PyTorch's fused
scaled-dot-product attention over a strided view of the qkv projection, and adaLN
modulation broadcasts over (frames, tokens) instead of being repeated per row.

Shapes: B samples, F frames, C latent channels, (h, w) latent size, p patch size,
N = (h/p)(w/p) tokens per frame, D hidden size.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from freeaction.model.config import ModelConfig


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return torch.addcmul(shift, x, 1 + scale)


def layer_norm(x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], eps=1e-6)


def sincos_2d(rows: torch.Tensor, cols: torch.Tensor, hidden: int) -> torch.Tensor:
    """(..., D) features of real-valued grid positions, in the inputs' dtype:
    [sin(col w_k), cos(col w_k), sin(row w_k), cos(row w_k)] with w_k = 10000^(-k/(D/4))."""
    omega = 1.0 / 10000 ** (torch.arange(hidden // 4, dtype=rows.dtype, device=rows.device) / (hidden / 4))
    wj, wi = cols[..., None] * omega, rows[..., None] * omega
    return torch.cat([wj.sin(), wj.cos(), wi.sin(), wi.cos()], dim=-1)


def sincos_2d_table(hidden: int, grid: tuple[int, int]) -> torch.Tensor:
    """(N, D) table of the grid's integer positions, token n = i*gw + j (computed in float64)."""
    i, j = torch.meshgrid(torch.arange(grid[0], dtype=torch.float64), torch.arange(grid[1], dtype=torch.float64),
                          indexing="ij")
    return sincos_2d(i.reshape(-1), j.reshape(-1), hidden).float()


def sincos_1d_table(hidden: int, length: int) -> torch.Tensor:
    """(length, D) table: [sin(f v_k), cos(f v_k)] with v_k = 10000^(-k/(D/2))."""
    omega = 1.0 / 10000 ** (torch.arange(hidden // 2, dtype=torch.float64) / (hidden / 2))
    angles = torch.arange(length, dtype=torch.float64).reshape(-1, 1) * omega
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


class Mlp(nn.Module):
    """Linear, tanh-GELU, Linear (timm's ``Mlp`` key names: ``fc1``, ``fc2``)."""

    def __init__(self, in_features: int, hidden_features: int, out_features: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.fc2 = nn.Linear(hidden_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or x.device.type != "cpu":
            return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))
        return self.fc2(_cpu_inference_fc1_gelu(self.fc1, x))


def _cpu_inference_fc1_gelu(fc1: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """GELU(fc1(x)) for CPU inference without a second activation-sized buffer.

    Under bf16 autocast, oneDNN's fused linear+GELU kernel (the one ``torch.compile`` uses on
    CPU) takes ~0.63x the time of the separate ops at IRASim-S/2 sizes; in float32 the GELU runs
    in place on the product. Same math: tanh-approximated GELU (``benchmarks/bench_model.py``).
    """
    if torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16 and _FUSED_LINEAR:
        bf16 = torch.bfloat16
        return torch.ops.mkldnn._linear_pointwise(
            x.to(bf16), fc1.weight.to(bf16), fc1.bias.to(bf16), "gelu", [], "tanh"
        )
    return torch.ops.aten.gelu_(fc1(x), approximate="tanh")


_FUSED_LINEAR = hasattr(torch.ops.mkldnn, "_linear_pointwise") and torch.backends.mkldnn.is_available()


class PatchEmbed(nn.Module):
    """Each frame's latent -> N tokens (a stride-p convolution, flattened row-major)."""

    def __init__(self, patch: int, in_channels: int, hidden: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, hidden, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class TimestepEmbedder(nn.Module):
    """t -> [cos(t f_k), sin(t f_k)] (256 features) -> Linear, SiLU, Linear."""

    def __init__(self, hidden: int, frequency_size: int = 256) -> None:
        super().__init__()
        self.frequency_size = frequency_size
        self.mlp = nn.Sequential(nn.Linear(frequency_size, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.frequency_size // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        args = t.float()[:, None] * freqs[None]
        return self.mlp(torch.cat([torch.cos(args), torch.sin(args)], dim=-1))


class Attention(nn.Module):
    """Multi-head self-attention over one axis of a (B, F, N, D) token grid.

    ``axis=2`` attends over the N tokens of each frame (spatial); ``axis=1`` over the F frames
    of each token position (temporal). The qkv projection is read through a strided view, so
    no token re-layout is materialised before attention.
    """

    def __init__(self, hidden: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor, axis: int) -> torch.Tensor:
        B, Fr, N, D = x.shape
        H = self.num_heads
        qkv = self.qkv(x).view(B, Fr, N, 3, H, D // H)
        if axis == 2:  # (B*F, H, N, hd)
            qkv = qkv.view(B * Fr, N, 3, H, D // H).permute(2, 0, 3, 1, 4)
            out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (B*F, H, N, hd)
            out = out.transpose(1, 2).reshape(B, Fr, N, D)
        else:  # (B, N, H, F, hd): attention over frames, batched over (B, N)
            qkv = qkv.permute(3, 0, 2, 4, 1, 5).reshape(3, B * N, H, Fr, D // H)
            out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (B*N, H, F, hd)
            out = out.view(B, N, H, Fr, D // H).permute(0, 3, 1, 2, 4).reshape(B, Fr, N, D)
        return self.proj(out)


class ContextAttention(nn.Module):
    """Every token of a (B, F, N, D) grid attends to the N tokens of frame 0 (the context frame),
    pre-normed; the output projection starts at zero (a residual branch that begins as nothing)."""

    def __init__(self, hidden: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(hidden, hidden)
        self.kv = nn.Linear(hidden, 2 * hidden)
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, Fr, N, D = x.shape
        H = self.num_heads
        x = layer_norm(x)
        q = self.q(x).view(B, Fr * N, H, D // H).transpose(1, 2)  # (B, H, F*N, hd)
        kv = self.kv(x[:, 0]).view(B, N, 2, H, D // H).permute(2, 0, 3, 1, 4)  # (2, B, H, N, hd)
        out = F.scaled_dot_product_attention(q, kv[0], kv[1])  # (B, H, F*N, hd)
        return self.proj(out.transpose(1, 2).reshape(B, Fr, N, D))


class Block(nn.Module):
    """adaLN-Zero transformer block; ``c`` broadcasts over the (F, N) axes of ``x``."""

    def __init__(self, hidden: int, num_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.attn = Attention(hidden, num_heads)
        self.mlp = Mlp(hidden, int(hidden * mlp_ratio), hidden)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden))

    def forward(self, x: torch.Tensor, c: torch.Tensor, axis: int) -> torch.Tensor:
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = self.adaLN_modulation(c).chunk(6, dim=-1)
        if torch.is_grad_enabled():
            x = torch.addcmul(x, gate_a, self.attn(modulate(layer_norm(x), shift_a, scale_a), axis))
            return torch.addcmul(x, gate_m, self.mlp(modulate(layer_norm(x), shift_m, scale_m)))
        # inference: modulate and update the residual stream in place (no new activation-sized
        # buffers; ~8% of a CPU forward at IRASim-S/2 sizes). ``x`` is always the model's own tensor.
        x = x.addcmul_(gate_a, self.attn(layer_norm(x).mul_(1 + scale_a).add_(shift_a), axis))
        return x.addcmul_(gate_m, self.mlp(layer_norm(x).mul_(1 + scale_m).add_(shift_m)))


class FinalLayer(nn.Module):
    def __init__(self, hidden: int, patch: int, out_channels: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden, patch * patch * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        return self.linear(modulate(layer_norm(x), shift, scale))


class VideoDiT(nn.Module):
    """IRASim-compatible video DiT. ``model(x, t, actions)`` returns the epsilon prediction.

    x: (B, F, C, h, w) latents, frame 0 the clean context frame; t: (B,) timesteps;
    actions: (B, F-1, A) model-space actions; null_condition: optional (B,) bool (or a bool
    for all samples) that replaces a sample's whole action condition by the learned null
    embedding (the unconditional branch of classifier-free guidance).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = cfg = config
        self.checkpoint_info: dict = {}  # filled by load_model: source, format, action_stats, args
        D, A, p = cfg.hidden_size, cfg.action_dim, cfg.patch_size
        self.grid = (cfg.latent_size[0] // p, cfg.latent_size[1] // p)

        self.x_embedder = PatchEmbed(p, cfg.in_channels, D)
        self.t_embedder = TimestepEmbedder(D)
        self.mask_emb_fn = nn.Embedding(1, D)  # the learned null condition (IRASim's key name)
        per_step = 2 * A if cfg.condition == "trajectory" else A  # trajectory: [a_k, a_1 + ... + a_k]
        if cfg.action_embedder == "linear":  # IRASim's Language-Table embedder
            self.embed_arm_state = nn.Linear(per_step, 4 * D)
            self.embed_state: nn.Module = nn.Linear(4 * D, D)
            if cfg.condition == "video":
                self.mlp = Mlp(cfg.num_actions * D, cfg.num_actions * D, D)
        else:
            in_features = A * cfg.num_actions if cfg.condition == "video" else per_step
            self.embed_state = Mlp(in_features, 4 * D, D)
        if cfg.condition == "trajectory":  # each frame's condition also enters its tokens
            self.action_to_tokens = nn.Linear(D, D)
        if cfg.shifted_positions:  # token p of frame k also carries p - S(a_1 + ... + a_k)
            self.displacement_to_grid = nn.Linear(A, 2, bias=False)
            self.shifted_pos_to_tokens = nn.Linear(D, D)
            rows, cols = torch.meshgrid(torch.arange(self.grid[0]), torch.arange(self.grid[1]), indexing="ij")
            self.register_buffer("grid_coords", torch.stack([rows, cols], -1).reshape(-1, 2).float(), persistent=False)
        # fixed sin-cos tables, stored in the state dict like IRASim's (frozen) parameters
        self.register_buffer("pos_embed", sincos_2d_table(D, self.grid)[None])
        self.register_buffer("temp_embed", sincos_1d_table(D, cfg.num_frames)[None])
        self.blocks = nn.ModuleList(Block(D, cfg.num_heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        if cfg.context_attention:  # one after every spatial block
            self.context_attn = nn.ModuleList(ContextAttention(D, cfg.num_heads) for _ in range(cfg.depth // 2))
        self.final_layer = FinalLayer(D, p, cfg.out_channels)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """DiT's initialisation: Xavier linears, zeroed adaLN and output layers."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        w = self.x_embedder.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.proj.bias)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        zeroed = [self.final_layer.adaLN_modulation[-1], self.final_layer.linear]
        if self.config.condition == "trajectory":
            zeroed.append(self.action_to_tokens)
        if self.config.shifted_positions:
            zeroed.append(self.shifted_pos_to_tokens)
            nn.init.normal_(self.displacement_to_grid.weight, std=0.5)
        if self.config.context_attention:
            zeroed.extend(attn.proj for attn in self.context_attn)
        for layer in zeroed:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    # Options that add modules which start as the identity: a trained model grows them without
    # changing its function (see :meth:`grown`).
    GROWABLE = {"shifted_positions": ("displacement_to_grid.", "shifted_pos_to_tokens."),
                "context_attention": ("context_attn.",)}

    def grown(self, **options: bool) -> VideoDiT:
        """A copy of this model with the :attr:`GROWABLE` options switched on: same weights, the
        added modules at their initialisation, so the copy computes the same function."""
        unknown = sorted(set(options) - set(self.GROWABLE))
        if unknown:
            raise ValueError(f"cannot grow {unknown}; growable options: {sorted(self.GROWABLE)}")
        config = dataclasses.replace(self.config, **options)
        model = VideoDiT(config).to(next(self.parameters()).device)
        missing, unexpected = model.load_state_dict(self.state_dict(), strict=False)
        added = tuple(p for name, on in options.items() if on for p in self.GROWABLE[name])
        if unexpected or any(not k.startswith(added) for k in missing):
            raise ValueError(f"growing {options} left keys unmatched: missing {missing}, unexpected {unexpected}")
        model.checkpoint_info = dict(self.checkpoint_info)
        return model

    # -- conditioning ---------------------------------------------------------------------------
    def embed_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, n, A) -> (B, n, D) per-step embeddings (frame, trajectory) or (B, D) (video)."""
        cfg = self.config
        if cfg.condition == "trajectory":
            actions = torch.cat([actions, actions.cumsum(dim=1)], dim=-1)
        if cfg.action_embedder == "linear":
            emb = self.embed_state(self.embed_arm_state(actions))
            return self.mlp(emb.flatten(1)) if cfg.condition == "video" else emb
        return self.embed_state(actions.flatten(1) if cfg.condition == "video" else actions)

    def conditions(
        self, t: torch.Tensor, actions: torch.Tensor, null: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Condition vectors for spatial, temporal and final layers, shaped to broadcast over
        (B, F, N, D): per frame (B, F, 1, D) or per sample (B, 1, 1, D); and what is added to
        the tokens (trajectory condition only, else None)."""
        t_emb = self.t_embedder(t)
        null_emb = self.mask_emb_fn.weight[0]
        a_emb = self.embed_actions(actions)
        if self.config.condition == "video":
            if null is not None:
                a_emb = torch.where(null[:, None], null_emb, a_emb)
            c = (t_emb + a_emb)[:, None, None]
            return c, c, c, None
        B = actions.shape[0]
        per_frame = torch.cat([null_emb.expand(B, 1, -1), a_emb], dim=1)  # frame 0 gets the null embedding
        if null is not None:
            per_frame = torch.where(null[:, None, None], null_emb, per_frame)
        spatial = (t_emb[:, None] + per_frame)[:, :, None]
        if self.config.condition == "trajectory":
            return spatial, spatial, spatial, self.action_to_tokens(per_frame)[:, :, None]
        temporal = t_emb[:, None, None]
        return spatial, temporal, spatial if self.config.final_frame_ada else temporal, None

    def shifted_positions(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, F-1, A) actions -> (B, F, N, D): each frame's position table shifted back by its
        cumulative displacement mapped onto the token grid (frame 0: no shift)."""
        shift = self.displacement_to_grid(actions.float().cumsum(dim=1))  # (B, F-1, 2) rows, cols
        shift = torch.cat([shift.new_zeros(shift.shape[0], 1, 2), shift], dim=1)
        coords = self.grid_coords[None, None] - shift[:, :, None]  # (B, F, N, 2)
        coords = coords.float()
        return self.shifted_pos_to_tokens(sincos_2d(coords[..., 0], coords[..., 1], self.config.hidden_size))

    # -- forward --------------------------------------------------------------------------------
    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        actions: torch.Tensor,
        null_condition: torch.Tensor | bool | None = None,
    ) -> torch.Tensor:
        cfg = self.config
        B, Fr, C, h, w = self._check_inputs(x, t, actions)
        null = None
        if null_condition is not None:
            null = torch.as_tensor(null_condition, dtype=torch.bool, device=x.device).expand(B)

        tokens = self.x_embedder(x.reshape(B * Fr, C, h, w)) + self.pos_embed
        x = tokens.view(B, Fr, -1, cfg.hidden_size)
        spatial_c, temporal_c, final_c, token_c = self.conditions(t.reshape(B), actions, null)
        if token_c is not None:
            x = x + token_c
        if cfg.shifted_positions:
            shifted = self.shifted_positions(actions)
            if null is not None:  # the null condition knows no displacement
                unshifted = self.shifted_pos_to_tokens(self.pos_embed)[None]
                shifted = torch.where(null[:, None, None, None], unshifted, shifted)
            x = x + shifted
        for i, block in enumerate(self.blocks):
            if i % 2 == 0:
                x = block(x, spatial_c, axis=2)
                if cfg.context_attention:
                    x = x + self.context_attn[i // 2](x)
            else:
                if i == 1:  # frame positions enter once, before the first temporal block
                    x = x + self.temp_embed[0, :Fr, None]
                x = block(x, temporal_c, axis=1)
        return self.unpatchify(self.final_layer(x, final_c))

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, F, N, p*p*C_out) -> (B, F, C_out, h, w); each token's vector is (pi, pj, c)-ordered."""
        B, Fr = x.shape[:2]
        p, c = self.config.patch_size, self.config.out_channels
        gh, gw = self.grid
        x = x.reshape(B, Fr, gh, gw, p, p, c).permute(0, 1, 6, 2, 4, 3, 5)
        return x.reshape(B, Fr, c, gh * p, gw * p)

    def _check_inputs(self, x: torch.Tensor, t: torch.Tensor, actions: torch.Tensor) -> tuple[int, ...]:
        cfg = self.config
        if x.ndim != 5:
            raise ValueError(f"x must be (B, F, C, h, w), got shape {tuple(x.shape)}")
        B, Fr, C, h, w = x.shape
        if cfg.in_channels != C or (h, w) != cfg.latent_size:
            raise ValueError(
                f"x has {C} channels of {h}x{w}; this model takes {cfg.in_channels} channels of "
                f"{cfg.latent_size[0]}x{cfg.latent_size[1]} latents"
            )
        if Fr > cfg.num_frames or (cfg.condition == "video" and Fr != cfg.num_frames):
            raise ValueError(f"x has {Fr} frames; this model takes {cfg.num_frames}")
        if actions.shape != (B, Fr - 1, cfg.action_dim):
            raise ValueError(f"actions must be (B={B}, F-1={Fr - 1}, {cfg.action_dim}), got {tuple(actions.shape)}")
        if t.numel() != B:
            raise ValueError(f"t must hold one timestep per sample ({B}), got shape {tuple(t.shape)}")
        return B, Fr, C, h, w
