"""IRASim's golden fixtures (tests/fixtures/irasim, see its README): loaders, the model they hold,
and the tolerance a re-implementation's outputs are judged by."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from freeaction.model.checkpoint import _config_from_irasim_args, infer_config
from freeaction.model.dit import VideoDiT

IRASIM_REF = Path(__file__).resolve().parent / "fixtures" / "irasim"
LT_EXAMPLE = IRASIM_REF / "languagetable_example"
GOLDEN_CASES = ["rt1_frame_ada", "languagetable_frame_ada", "rt1_video_ada"]

# Largest allowed |ours - IRASim| anywhere, as a fraction of the reference's RMS. fp32 kernel
# choices (thread count, CPU) move these outputs by up to ~1.5e-5 of their RMS; a real mistake
# (one weight 1% off, two heads swapped, a modulation dropped) by 1e-3 or more. The README's
# "Tolerance" section has the measurements (benchmarks/golden_spread.py prints them).
GOLDEN_REL_TOL = 1e-4


def golden_path(case: str) -> Path:
    return IRASIM_REF / f"{case}.safetensors"


def load_golden(case: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors (cloned: aligned buffers, see the README section 6) and metadata of one case."""
    path = golden_path(case)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    return {k: v.clone() for k, v in load_file(str(path)).items()}, meta


def golden_state_dict(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("state_dict."): v for k, v in tensors.items() if k.startswith("state_dict.")}


def golden_args(meta: dict[str, str]) -> dict:
    """IRASim's args as its config files would hold them for this fixture."""
    kwargs = json.loads(meta["constructor_kwargs"])
    ns = json.loads(meta["constructor_args_namespace"])
    h, w = kwargs["input_size"]
    return {
        "dataset": ns["dataset"],
        "extras": kwargs["extras"],
        "video_size": [h * 8, w * 8],
        "num_frames": 16,
        "learn_sigma": False,
        "final_frame_ada": ns["final_frame_ada"],
        "num_heads": kwargs["num_heads"],
    }


def build_golden_model(case: str, final_frame_ada: bool = False) -> tuple[VideoDiT, dict[str, torch.Tensor]]:
    """freeaction's VideoDiT with the weights of golden ``case`` (eval mode), and the case's tensors."""
    tensors, meta = load_golden(case)
    sd = golden_state_dict(tensors)
    config = infer_config(sd, _config_from_irasim_args(golden_args(meta)), {"final_frame_ada": final_frame_ada}, case)
    model = VideoDiT(config)
    model.load_state_dict(sd, strict=True)
    return model.eval(), tensors


def golden_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """max |out - ref| over the RMS of ``ref``: the error measure ``GOLDEN_REL_TOL`` bounds."""
    if out.shape != ref.shape:
        raise AssertionError(f"shape {tuple(out.shape)} != reference {tuple(ref.shape)}")
    ref64 = ref.double()
    return float((out.double() - ref64).abs().max() / ref64.square().mean().sqrt())


def assert_matches_golden(out: torch.Tensor, ref: torch.Tensor) -> None:
    """``out`` equals IRASim's ``ref`` up to fp32 kernel differences (``GOLDEN_REL_TOL``)."""
    err = golden_error(out, ref)
    assert err <= GOLDEN_REL_TOL, f"max |out - ref| = {err:.3g} x RMS(ref) exceeds {GOLDEN_REL_TOL:g} x RMS(ref)"


def scale_one_weight(model: VideoDiT) -> None:
    """A mistake: one weight tensor (block 1's attention output projection) 1% too large."""
    model.blocks[1].attn.proj.weight.mul_(1.01)


def swap_two_heads(model: VideoDiT) -> None:
    """A mistake: heads 0 and 1 of block 0's value projection swapped (q and k untouched)."""
    qkv = model.blocks[0].attn.qkv
    d = qkv.weight.shape[1]
    hd = d // model.config.num_heads
    v0, v1 = slice(2 * d, 2 * d + hd), slice(2 * d + hd, 2 * d + 2 * hd)
    for p in (qkv.weight, qkv.bias):
        p[v0], p[v1] = p[v1].clone(), p[v0].clone()


def drop_final_modulation(model: VideoDiT) -> None:
    """A mistake: the final layer's adaLN modulation left out (shift = scale = 0)."""
    model.final_layer.adaLN_modulation[-1].weight.zero_()
    model.final_layer.adaLN_modulation[-1].bias.zero_()


MISTAKES: dict[str, Callable[[VideoDiT], None]] = {
    "one weight x1.01": scale_one_weight,
    "two heads swapped": swap_two_heads,
    "final modulation dropped": drop_final_modulation,
}
