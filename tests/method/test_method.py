"""Method: the one parser (keys = field names), every refusal, the legacy migration, STANDARD_METHODS."""

from __future__ import annotations

import json

import pytest

from freeaction.errors import InputError, MethodError
from freeaction.method import (
    STANDARD_METHODS,
    ActionScaledTruncation,
    FixedTruncation,
    FreeActionGuidance,
    GaussianNoise,
    Method,
    NegatedCFG,
    NoGuidance,
    NullCFG,
    migrate_legacy,
)


def method(guidance: dict | None = None, truncation: dict | None = None, **kw) -> Method:
    d = {"name": "m", **kw}
    if guidance is not None:
        d["guidance"] = guidance
    if truncation is not None:
        d["truncation"] = truncation
    return Method.from_dict(d)


def test_standard_names_expand_in_the_parser() -> None:
    assert Method.from_dict({"name": "freeaction"}) is STANDARD_METHODS["freeaction"]
    fa = STANDARD_METHODS["freeaction"]
    assert fa.guidance == FreeActionGuidance(scale=1.0, window=(0.5, 1.0))
    assert fa.truncation == ActionScaledTruncation(tau_min=0.5, tau_max=1.5) and fa.needs_mu_act
    assert STANDARD_METHODS["unguided"] == Method("unguided", NoGuidance(), GaussianNoise())
    assert STANDARD_METHODS["freeaction_cfg"].truncation == GaussianNoise()
    assert STANDARD_METHODS["freeaction_trunc"].guidance == NoGuidance()
    # a standard name with options is a custom method of that name
    assert method(guidance={"type": "null"}, name="freeaction").guidance == NullCFG()


@pytest.mark.parametrize(
    "d",
    [
        {"name": "a"},
        {"name": "b", "guidance": {"type": "freeaction", "scale": 0.25, "window": [0.0, 0.5], "magnitude": "mean_step",
                                   "magnitude_dims": [0, 1], "negate_dims": [0]}},
        {"name": "c", "guidance": {"type": "freeaction", "negative": "null"},
         "truncation": {"type": "fixed", "tau": 0.7}},
        {"name": "d", "guidance": {"type": "negated", "scale": 3.0, "negate_dims": [1]},
         "truncation": {"type": "action_scaled", "mu_act": 2.5, "tau_min": 0.3, "tau_max": 1.0}},
        {"name": "e", "guidance": {"type": "null", "scale": 2.0, "window": [0.25, 1.0]}},
    ],
)
def test_to_dict_round_trips_through_json(d) -> None:
    m = Method.from_dict(d)
    again = Method.from_dict(json.loads(json.dumps(m.to_dict())))
    assert again == m and again.to_dict() == m.to_dict()
    assert set(m.to_dict()["guidance"]) == {"type", *type(m.guidance).__dataclass_fields__}


def test_values_are_converted_once_and_stored_converted() -> None:
    m = method({"type": "freeaction", "scale": "8", "window": [0, 1], "magnitude_dims": [1, 0]},
               {"type": "action_scaled", "mu_act": 2, "tau_min": "1e-1"})
    assert m.guidance.scale == 8.0 and isinstance(m.guidance.scale, float)
    assert m.guidance.window == (0.0, 1.0) and m.guidance.magnitude_dims == (1, 0)
    assert m.truncation.mu_act == 2.0 and m.truncation.tau_min == pytest.approx(0.1)
    assert isinstance(m.truncation.mu_act, float)


@pytest.mark.parametrize(
    ("d", "message"),
    [
        ({"name": "x", "truncaton": {"type": "fixed"}}, r"unknown method key\(s\) \['truncaton'\]; known: \['name'"),
        ({"name": "x", "guidence": {"type": "freeaction"}}, r"unknown method key\(s\) \['guidence'\]"),
        ({"guidance": {}}, r"needs a 'name'"),
        ({"name": ""}, r"non-empty name"),
        ({"name": "x", "guidance": "freeaction"}, r"guidance must be a mapping"),
        ({"name": "x", "guidance": {"type": "strong"}}, r"unknown guidance type 'strong'; choose one of"),
        ({"name": "x", "truncation": {"type": "soft"}}, r"unknown truncation type 'soft'"),
        ({"name": "x", "guidance": {"type": "freeaction", "lamda": 1}},
         r"unknown guidance option\(s\) \['lamda'\] for type 'freeaction'; known: \['scale', 'window'"),
        ({"name": "x", "guidance": {"type": "freeaction", "lambda": 1}}, r"\['lambda'\].*write 'scale'"),
        ({"name": "x", "guidance": {"type": "null", "magnitude": "l2"}},
         r"unknown guidance option\(s\) \['magnitude'\]"),
        ({"name": "x", "guidance": {"type": "null", "negative": "null"}}, r"'negative' applies to type 'freeaction'"),
        ({"name": "x", "truncation": {"type": "fixed", "tua": 1}}, r"unknown truncation option\(s\) \['tua'\]"),
        ({"name": "x", "truncation": {"type": "fixed", "tau_min": 1}}, r"unknown truncation option\(s\) \['tau_min'\]"),
        # scale (lambda / w): a finite number in [0, 100]
        ({"name": "x", "guidance": {"type": "freeaction", "scale": float("nan")}}, r"scale \(lambda\) must be finite"),
        ({"name": "x", "guidance": {"type": "freeaction", "scale": float("inf")}}, r"must be finite"),
        ({"name": "x", "guidance": {"type": "freeaction", "scale": 1e30}}, r"must be <= 100"),
        ({"name": "x", "guidance": {"type": "null", "scale": -1.0}}, r"scale must be >= 0"),
        ({"name": "x", "guidance": {"type": "negated", "scale": True}}, r"must be a number, got True"),
        ({"name": "x", "guidance": {"type": "negated", "scale": "strong"}}, r"must be a number, got 'strong'"),
        ({"name": "x", "guidance": {"type": "negated", "scale": [1]}}, r"must be a number"),
        # window: fractions of T, lo < hi
        ({"name": "x", "guidance": {"type": "negated", "window": [0.8, 0.2]}}, r"hi must be above lo"),
        ({"name": "x", "guidance": {"type": "freeaction", "window": [-0.5, 1.0]}}, r"window\[0\] must be >= 0"),
        ({"name": "x", "guidance": {"type": "freeaction", "window": [0.5, 2.0]}}, r"window\[1\] must be <= 1"),
        ({"name": "x", "guidance": {"type": "freeaction", "window": 0.5}}, r"window must be a pair"),
        ({"name": "x", "guidance": {"type": "freeaction", "cutoff": 0.5}}, r"\['cutoff'\].*window: \[c, 1.0\]"),
        # m(a) definition and negation
        ({"name": "x", "guidance": {"type": "freeaction", "magnitude": "l1"}}, r"magnitude must be one of \['l2'"),
        ({"name": "x", "truncation": {"type": "action_scaled", "magnitude": "max"}}, r"truncation magnitude must be"),
        ({"name": "x", "guidance": {"type": "freeaction", "magnitude_dims": [0, -1]}}, r"integers >= 0"),
        ({"name": "x", "guidance": {"type": "freeaction", "negate_dims": [1, 1]}}, r"must not repeat"),
        ({"name": "x", "guidance": {"type": "freeaction", "negate_dims": []}}, r"non-empty list"),
        ({"name": "x", "guidance": {"type": "freeaction", "negate_dims": "01"}}, r"non-empty list"),
        ({"name": "x", "guidance": {"type": "freeaction", "negate_dims": [0.5]}}, r"integers >= 0"),
        ({"name": "x", "guidance": {"type": "freeaction", "negative": "zero"}}, r"negative must be one of"),
        ({"name": "x", "guidance": {"type": "freeaction", "negative": "null", "negate_dims": [0]}},
         r"negate_dims applies to negative 'negated' only"),
        # truncation: tau > 0 finite, tau_min <= tau_max, mu_act finite
        ({"name": "x", "truncation": {"type": "fixed", "tau": 0.0}}, r"tau must be > 0"),
        ({"name": "x", "truncation": {"type": "fixed", "tau": float("inf")}}, r"tau must be finite"),
        ({"name": "x", "truncation": {"type": "action_scaled", "tau_min": -1.0}}, r"tau_min must be > 0"),
        ({"name": "x", "truncation": {"type": "action_scaled", "tau_min": 2.0, "tau_max": 1.0}},
         r"tau_min <= tau_max"),
        ({"name": "x", "truncation": {"type": "action_scaled", "tau_max": float("nan")}}, r"tau_max must be finite"),
        ({"name": "x", "truncation": {"type": "action_scaled", "mu_act": float("nan")}}, r"mu_act must be finite"),
        ({"name": "x", "truncation": {"type": "action_scaled", "mu_act": "high"}}, r"mu_act must be a number"),
    ],
)
def test_every_bad_option_is_refused_by_name(d, message) -> None:
    with pytest.raises(MethodError, match=message):
        Method.from_dict(d)


def test_refusals_are_input_errors_and_value_errors() -> None:
    with pytest.raises(InputError):
        FixedTruncation(tau=-1)
    with pytest.raises(ValueError):
        NullCFG(scale=float("nan"))


def test_dims_are_checked_against_the_action_dimension_when_known() -> None:
    d = {"name": "g", "guidance": {"type": "freeaction", "negate_dims": [0, 1, 2, 3, 4, 5]}}
    assert Method.from_dict(d, action_dim=7).guidance.negate_dims == (0, 1, 2, 3, 4, 5)
    with pytest.raises(MethodError, match=r"method 'g': guidance negate_dims .* \[2, 3, 4, 5\] out of range for 2-D"):
        Method.from_dict(d, action_dim=2)
    m = method(truncation={"type": "action_scaled", "magnitude_dims": [3]})
    with pytest.raises(MethodError, match=r"truncation magnitude_dims"):
        m.check_action_dim(3)


def test_legacy_mappings_read_as_they_sampled() -> None:
    """run.json of earlier versions: options left out, lambda/cutoff spellings, ignored keys."""
    old = {
        "name": "cutoff=0.25",
        "guidance": {"type": "freeaction", "scale": 1.0, "cutoff": 0.25},
        "truncation": {"type": "action_scaled", "tau_min": 0.5, "tau_max": 1.5, "mu_act": 2.0},
    }
    m = Method.from_dict(migrate_legacy(old))
    assert m.guidance == FreeActionGuidance(window=(0.25, 1.0)) and m.truncation.mu_act == 2.0
    assert Method.from_dict(migrate_legacy({"name": "l", "guidance": {"type": "freeaction", "lambda": 0.5}})).guidance \
        == FreeActionGuidance(scale=0.5)
    # a constant weight spelled as freeaction without action scaling kept freeaction's default window
    const = migrate_legacy({"name": "c", "guidance": {"type": "freeaction", "action_scaled": False, "scale": 2.0}})
    assert Method.from_dict(const).guidance == NegatedCFG(scale=2.0, window=(0.5, 1.0))
    # options the old builder ignored for the type are dropped
    null = migrate_legacy({"name": "n", "guidance": {"type": "null", "scale": 1.0, "magnitude": "l2",
                                                     "magnitude_dims": None, "negate_dims": [0]}})
    assert Method.from_dict(null).guidance == NullCFG(scale=1.0)
    fa_null = migrate_legacy({"name": "f", "guidance": {"type": "freeaction", "negative": "null", "negate_dims": [0]}})
    assert Method.from_dict(fa_null).guidance == FreeActionGuidance(negative="null")
    fixed = migrate_legacy({"name": "t", "truncation": {"type": "fixed", "tau": 0.8, "tau_min": 0.5}})
    assert Method.from_dict(fixed).truncation == FixedTruncation(0.8)
    # today's mappings come back unchanged; typos are still refused after migration
    for m in STANDARD_METHODS.values():
        assert migrate_legacy(m.to_dict()) == m.to_dict()
    with pytest.raises(MethodError, match="lamda"):
        Method.from_dict(migrate_legacy({"name": "x", "guidance": {"type": "freeaction", "lamda": 1}}))

