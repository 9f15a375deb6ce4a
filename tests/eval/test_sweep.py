"""The ablation sweep: which methods each axis makes, and the open-question variants."""

from __future__ import annotations

import pytest
import torch

from freeaction.errors import InputError
from freeaction.eval.methods import resolve_method
from freeaction.eval.sweep import expand_sweep


def test_every_axis_varies_one_thing_of_the_base_and_reuses_the_base_point():
    methods, plan, notes = expand_sweep({}, ["unguided"], action_dim=7)
    by = {m["name"] if isinstance(m, dict) else m: m for m in methods}
    assert [p["method"] for p in plan["cutoff"]] == ["cutoff=0.25", "freeaction", "cutoff=0.75", "cutoff=0"]
    assert by["cutoff=0"]["guidance"]["cutoff"] == 0.0
    assert by["truncation_bounds=0.3-1"]["truncation"] == {"type": "action_scaled", "tau_min": 0.3, "tau_max": 1.0}
    assert [p["value"] for p in plan["lambda"]][:3] == [0.1, 0.25, 0.5]
    assert by["lambda=0.1"]["guidance"]["scale"] == 0.1 and by["lambda=0.1"]["guidance"]["cutoff"] == 0.5
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
    m = resolve_method({"name": "n", "guidance": {"type": "freeaction", "negative": "null", "scale": 2.0}}, 1.0)
    g = m.build_guidance()
    assert g.negative == "null" and g.action_scaled and g.window == (0.5, 1.0)
    a = torch.ones(1, 15, 2)
    assert float(g.weight(a, 999)) == pytest.approx(2.0 * float(a.norm()))
    assert float(g.weight(a, 100)) == 0.0
    plain = resolve_method({"name": "f", "truncation": {"type": "action_scaled"}}, mu_act=3.0)
    assert plain.truncation["mu_act"] == 3.0
