"""The one config-file reader (mappings from YAML, JSON and TOML; bombs and junk refused) and the
config idiom: option() fields, config_from_mapping (unknown keys refused), parse_set, option_help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from freeaction.config_files import (
    MAX_CONFIG_VALUES,
    config_from_mapping,
    expanded_size,
    option,
    option_help,
    parse_set,
    read_mapping,
)
from freeaction.errors import InputError

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
methods: [*i]
"""


def test_alias_bomb_is_refused_without_expanding(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    with pytest.raises(InputError, match=r"bomb.yaml: expands to more than"):
        read_mapping(path)


def test_self_referencing_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("methods: &m [1, *m]\n")
    with pytest.raises(InputError, match="expands to more than"):
        read_mapping(path)


def test_modest_aliases_still_load(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {scale: 1.0}\nmethods: [{guidance: *b}, {guidance: *b}]\n")
    assert read_mapping(path)["methods"][1] == {"guidance": {"scale": 1.0}}


def test_expanded_size_counts_shared_objects_each_time():
    leaf = [1, 2]
    assert expanded_size({"a": leaf, "b": leaf}, 100) == 1 + 2 + 2 * 3
    assert expanded_size([leaf] * 10**6, MAX_CONFIG_VALUES) == MAX_CONFIG_VALUES + 1


@pytest.mark.parametrize(
    ("name", "text"), [("c.toml", "lr = 1e-4\n"), ("c.json", '{"lr": 0.0001}'), ("c.yaml", "lr: 1.0e-4\n")]
)
def test_each_format_reads(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    assert read_mapping(tmp_path / name) == {"lr": 1e-4}


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
