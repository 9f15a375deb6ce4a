"""The ablation sweep: which methods each axis makes, and the open-question variants."""

from __future__ import annotations

import pytest
import torch

from freeaction.errors import InputError
from freeaction.eval.sweep import expand_sweep
from freeaction.method import Method


def test_every_axis_varies_one_thing_of_the_base_and_reuses_the_base_point():
    methods, plan, notes = expand_sweep({}, ["unguided"], action_dim=7)
    by = {m["name"] if isinstance(m, dict) else m: m for m in methods}
    assert [p["method"] for p in plan["cutoff"]] == ["cutoff=0.25", "freeaction", "cutoff=0.75", "cutoff=0"]
    assert by["cutoff=0"]["guidance"]["window"] == [0.0, 1.0]
    assert by["truncation_bounds=0.3-1"]["truncation"] == {
        "type": "action_scaled", "mu_act": None, "tau_min": 0.3, "tau_max": 1.0, "magnitude": "l2",
        "magnitude_dims": None}
    assert [p["value"] for p in plan["lambda"]][:3] == [0.1, 0.25, 0.5]
    assert by["lambda=0.1"]["guidance"]["scale"] == 0.1 and by["lambda=0.1"]["guidance"]["window"] == [0.5, 1.0]
    ms = by["magnitude=mean_step"]
    assert ms["guidance"]["magnitude"] == ms["truncation"]["magnitude"] == "mean_step"
    assert by["negative_branch=null"]["guidance"]["negative"] == "null"
    assert by["gripper_negation=deltas"]["guidance"]["negate_dims"] == [0, 1, 2, 3, 4, 5]
    assert by["guidance_window=late"]["guidance"]["window"] == [0.0, 0.5]
    assert plan["guidance_window"][0]["method"] == "freeaction"  # (0.5, 1] is the base's cutoff 0.5
    assert by["tau_mode=fixed"]["truncation"] == {"type": "fixed", "tau": 1.0}
    assert notes == [] and "unguided" in by
    names = [m["name"] if isinstance(m, dict) else m for m in methods]
    assert len(names) == len(set(names))


def test_axes_can_be_selected_and_2d_models_skip_the_gripper_axis():
    methods, plan, notes = expand_sweep({"axes": ["lambda", "gripper_negation"], "lambdas": [0.5, 1.0]},
                                        ["unguided"], action_dim=2)
    assert list(plan) == ["lambda"] and "gripper_negation skipped" in notes[0]
    assert [m if isinstance(m, str) else m["name"] for m in methods] == ["unguided", "freeaction", "lambda=0.5"]
    with pytest.raises(InputError, match="unknown sweep axis"):
        expand_sweep({"axes": ["lamda"]}, ["unguided"], 2)
    with pytest.raises(InputError, match="unknown sweep option"):
        expand_sweep({"lambda": [1]}, ["unguided"], 2)


def test_null_negative_branch_keeps_the_action_scaled_weight():
    m = Method.from_dict({"name": "n", "guidance": {"type": "freeaction", "negative": "null", "scale": 2.0}})
    g = m.guidance
    assert g.negative == "null" and g.type == "freeaction" and g.window == (0.5, 1.0)
    a = torch.ones(1, 15, 2)
    assert float(g.weight(a, 999)) == pytest.approx(2.0 * float(a.norm()))
    assert float(g.weight(a, 100)) == 0.0
    plain = Method.from_dict({"name": "f", "truncation": {"type": "action_scaled"}}).with_mu_act(3.0)
    assert plain.truncation.mu_act == 3.0


def test_sweep_variants_are_methods_and_read_back_equal() -> None:
    methods, plan, _ = expand_sweep({}, ["unguided"], action_dim=7)
    for d in methods[1:]:
        m = Method.from_dict({k: v for k, v in d.items() if k not in ("axis", "value")}, action_dim=7)
        assert m.to_dict() == {k: v for k, v in d.items() if k not in ("axis", "value")}
    with pytest.raises(InputError, match=r"sweep axis 'negative_branch' = negated does not apply.*'negative'"):
        expand_sweep({"axes": ["negative_branch"], "base": {"guidance": {"type": "negated"}}}, ["unguided"], 2)
    with pytest.raises(InputError, match=r"sweep 'base'.*unknown guidance option"):
        expand_sweep({"base": {"guidance": {"type": "freeaction", "lamda": 2}}}, ["unguided"], 2)


def test_run_json_entries_of_earlier_versions_read_as_the_methods_made_now():
    """Resuming a results folder: run.json written before the option names were settled."""
    from freeaction.eval.results_folder import recorded_method

    old = {
        "name": "cutoff=0.25", "axis": "cutoff", "value": 0.25,
        "guidance": {"type": "freeaction", "scale": 1.0, "cutoff": 0.25},
        "truncation": {"type": "action_scaled", "tau_min": 0.5, "tau_max": 1.5, "mu_act": 2.0},
    }
    methods, _, _ = expand_sweep({"axes": ["cutoff"]}, ["unguided"], action_dim=2)
    now = {m["name"]: m for m in methods if isinstance(m, dict)}["cutoff=0.25"]
    made = Method.from_dict({k: now[k] for k in ("name", "guidance", "truncation")}).with_mu_act(2.0)
    assert recorded_method(old) == made
    assert recorded_method({**old, "truncation": {**old["truncation"], "mu_act": 2.5}}) != made
    assert recorded_method({"name": "x", "guidance": {"type": "bogus"}}) is None
