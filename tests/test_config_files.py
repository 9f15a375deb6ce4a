"""The one config-file reader: mappings from YAML, JSON and TOML; bombs and junk refused."""

from __future__ import annotations

import pytest

from freeaction.config_files import MAX_CONFIG_VALUES, expanded_size, read_mapping
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
