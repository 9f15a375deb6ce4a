"""The config idiom: option() fields, config_from_mapping (unknown keys refused), parse_set, option_help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from freeaction.config_files import config_from_mapping, option, option_help, parse_set
from freeaction.errors import InputError


@dataclass
class Example:
    """A small config made the way the project's configs are."""

    name: str = option("run", help="what the run is called")
    lr: float = option(1e-3, help="learning rate")
    upper_bound: float | None = option(None, help="an optional bound")
    tags: list[str] = option(factory=list, help="labels")
    options: dict[str, Any] = option(factory=dict, help="nested options")


@dataclass
class Sourced:
    """A config that records where it came from."""

    source: str = option("", help="the file it was read from")


def test_config_from_mapping_reads_keys_and_refuses_unknown_ones_by_name():
    cfg = config_from_mapping(Example, {"lr": "1e-4", "upper_bound": "2"}, origin="f.yaml")
    assert cfg.lr == 1e-4 and isinstance(cfg.lr, float) and cfg.upper_bound == 2.0 and cfg.name == "run"
    assert Example().tags == [] and Example().tags is not Example().tags  # a fresh default each
    known = r"known: \['lr', 'name', 'options', 'tags', 'upper_bound'\]"
    with pytest.raises(InputError, match=r"f\.yaml: unknown thing\(s\) \['colour'\]; " + known):
        config_from_mapping(Example, {"colour": 1, "lr": 1}, origin="f.yaml", what="thing")
    with pytest.raises(InputError, match=r"f\.yaml: lr must be a number, got 'fast'"):
        config_from_mapping(Example, {"lr": "fast"}, origin="f.yaml")
    with pytest.raises(InputError, match=r"unknown option\(s\) \['name'\]; known: \['lr', 'options'"):
        config_from_mapping(Example, {"name": "x"}, origin="s", internal=("name",))
    assert config_from_mapping(Example, {"lr": 1}, origin="s", internal=("name",), name="set").name == "set"
    # a config with a field called source (the evaluation config's) takes it as a fixed value
    assert config_from_mapping(Sourced, {}, origin="s", internal=("source",), source="f.yaml").source == "f.yaml"
    assert config_from_mapping(Example, {"upper-bound": 3.0}, origin="s").upper_bound == 3.0  # '-' reads as '_'


def test_parse_set_reads_yaml_values_and_nests_only_the_named_mappings():
    over = parse_set(["lr=1e-3", "tags=[a, b]", "options.depth=8", "other.key=1", "max-steps=5"], nested=("options",))
    assert over == {"lr": "1e-3", "tags": ["a", "b"], "options": {"depth": 8}, "other.key": 1, "max_steps": 5}
    assert parse_set(None) == {}
    with pytest.raises(InputError, match="--set expects KEY=VALUE"):
        parse_set(["lr"])


def test_option_help_states_the_default_once():
    assert option_help(Example, "lr") == "learning rate (default 0.001)"
    assert option_help(Example, "upper_bound") == "an optional bound"  # no default to state
    assert option_help(Example, "name", default=False) == "what the run is called"
