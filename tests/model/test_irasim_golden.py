"""freeaction's model computes IRASim's function: every golden output within fp32 kernel spread.

The fixtures (tests/fixtures/irasim) were made by IRASim's own class; ``GOLDEN_REL_TOL`` bounds
max |ours - IRASim| relative to the output's RMS (tests/reference.py and the fixtures' README
say why that bound), and ``test_tolerance_catches_mistakes`` shows it is tight enough to fail
on real mistakes."""

from __future__ import annotations

import pytest
import torch

from freeaction.model.dit import sincos_1d_table, sincos_2d_table
from reference import (
    GOLDEN_CASES,
    GOLDEN_REL_TOL,
    MISTAKES,
    assert_matches_golden,
    golden_error,
    golden_state_dict,
)
from reference import build_golden_model as build


@pytest.mark.parametrize("case", GOLDEN_CASES)
@pytest.mark.parametrize("null", [False, True])
def test_outputs_match_irasim(case: str, null: bool) -> None:
    model, t = build(case)
    with torch.no_grad():
        out = model(t["input.x"], t["input.t"], t["input.actions"], null_condition=True if null else None)
    ref = t["output.null_condition" if null else "output.eval"]
    assert_matches_golden(out, ref)


@pytest.mark.parametrize("case", ["rt1_frame_ada", "languagetable_frame_ada"])
@pytest.mark.parametrize("null", [False, True])
def test_final_frame_ada_switch(case: str, null: bool) -> None:
    model, t = build(case, final_frame_ada=True)
    with torch.no_grad():
        out = model(t["input.x"], t["input.t"], t["input.actions"], null_condition=True if null else None)
    key = "output.null_condition_final_frame_ada" if null else "output.eval_final_frame_ada"
    assert_matches_golden(out, t[key])
    assert not torch.allclose(out, t["output.null_condition" if null else "output.eval"], atol=1e-3)


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_per_sample_null_condition(case: str) -> None:
    """A per-sample mask drops only that sample's condition (IRASim's forced draw [0, 1])."""
    model, t = build(case)
    with torch.no_grad():
        out = model(t["input.x"], t["input.t"], t["input.actions"], null_condition=torch.tensor([True, False]))
    assert_matches_golden(out[0], t["output.null_condition"][0])
    assert_matches_golden(out[1], t["output.eval"][1])


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_intermediates_match(case: str) -> None:
    model, t = build(case)
    with torch.no_grad():
        assert_matches_golden(model.t_embedder(t["input.t"]), t["debug.t_emb"])
    # the fixed tables are recomputed bit for bit
    sd = golden_state_dict(t)
    assert torch.equal(sincos_2d_table(model.config.hidden_size, model.grid)[None], sd["pos_embed"])
    assert torch.equal(sincos_1d_table(model.config.hidden_size, 16)[None], sd["temp_embed"])


@pytest.mark.parametrize("case", GOLDEN_CASES)
@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_tolerance_catches_mistakes(case: str, mistake: str) -> None:
    """Each small implementation mistake moves the output far beyond the tolerance."""
    model, t = build(case)
    with torch.no_grad():
        MISTAKES[mistake](model)
        out = model(t["input.x"], t["input.t"], t["input.actions"])
    assert golden_error(out, t["output.eval"]) > 10 * GOLDEN_REL_TOL
    with pytest.raises(AssertionError, match="exceeds"):
        assert_matches_golden(out, t["output.eval"])


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
