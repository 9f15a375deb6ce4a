"""freeaction's model computes IRASim's function: every golden output within atol = rtol = 1e-5."""

from __future__ import annotations

import pytest
import torch

from freeaction.model.checkpoint import infer_config
from freeaction.model.dit import VideoDiT, sincos_1d_table, sincos_2d_table
from reference import GOLDEN_CASES, golden_args, golden_state_dict, load_golden

TOL = {"atol": 1e-5, "rtol": 1e-5}


def build(case: str, final_frame_ada: bool = False) -> tuple[VideoDiT, dict[str, torch.Tensor]]:
    tensors, meta = load_golden(case)
    sd = golden_state_dict(tensors)
    args = golden_args(meta)
    from freeaction.model.checkpoint import _config_from_irasim_args

    config = infer_config(sd, _config_from_irasim_args(args), {"final_frame_ada": final_frame_ada}, case)
    model = VideoDiT(config)
    model.load_state_dict(sd, strict=True)
    return model.eval(), tensors


@pytest.mark.parametrize("case", GOLDEN_CASES)
@pytest.mark.parametrize("null", [False, True])
def test_outputs_match_irasim(case: str, null: bool) -> None:
    model, t = build(case)
    with torch.no_grad():
        out = model(t["input.x"], t["input.t"], t["input.actions"], null_condition=True if null else None)
    ref = t["output.null_condition" if null else "output.eval"]
    torch.testing.assert_close(out, ref, **TOL)


@pytest.mark.parametrize("case", ["rt1_frame_ada", "languagetable_frame_ada"])
@pytest.mark.parametrize("null", [False, True])
def test_final_frame_ada_switch(case: str, null: bool) -> None:
    model, t = build(case, final_frame_ada=True)
    with torch.no_grad():
        out = model(t["input.x"], t["input.t"], t["input.actions"], null_condition=True if null else None)
    key = "output.null_condition_final_frame_ada" if null else "output.eval_final_frame_ada"
    torch.testing.assert_close(out, t[key], **TOL)
    assert not torch.allclose(out, t["output.null_condition" if null else "output.eval"], atol=1e-3)


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_per_sample_null_condition(case: str) -> None:
    """A per-sample mask drops only that sample's condition (IRASim's forced draw [0, 1])."""
    model, t = build(case)
    with torch.no_grad():
        out = model(t["input.x"], t["input.t"], t["input.actions"], null_condition=torch.tensor([True, False]))
    torch.testing.assert_close(out[0], t["output.null_condition"][0], **TOL)
    torch.testing.assert_close(out[1], t["output.eval"][1], **TOL)


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_intermediates_match(case: str) -> None:
    model, t = build(case)
    torch.testing.assert_close(model.t_embedder(t["input.t"]), t["debug.t_emb"], **TOL)
    # the fixed tables are recomputed bit for bit
    sd = golden_state_dict(t)
    assert torch.equal(sincos_2d_table(model.config.hidden_size, model.grid)[None], sd["pos_embed"])
    assert torch.equal(sincos_1d_table(model.config.hidden_size, 16)[None], sd["temp_embed"])


def test_actions_matter_and_outputs_are_order_one() -> None:
    """Guard against a vacuous comparison: the fixtures' outputs depend on the actions."""
    model, t = build("rt1_frame_ada")
    with torch.no_grad():
        a = model(t["input.x"], t["input.t"], t["input.actions"])
        b = model(t["input.x"], t["input.t"], t["input.actions"].flip(1))
    assert (a - b).abs().max() > 0.1


def test_bf16_autocast_stays_close() -> None:
    model, t = build("rt1_frame_ada")
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(t["input.x"], t["input.t"], t["input.actions"]).float()
    assert (out - t["output.eval"]).abs().mean() < 0.05


def test_input_shape_errors() -> None:
    model, t = build("rt1_frame_ada")
    with pytest.raises(ValueError, match="latents"):
        model(t["input.x"][..., :6], t["input.t"], t["input.actions"])
    with pytest.raises(ValueError, match="actions must be"):
        model(t["input.x"], t["input.t"], t["input.actions"][..., :2])
