"""The default models shipped in src/freeaction/assets: present, small, loadable, documented."""

from __future__ import annotations

import json

import pytest

from freeaction.shipped import ASSETS, SHIPPED_MODELS, available_models

SHIPPED = available_models()


def test_at_least_the_pusher_model_ships():
    assert "pusher-64" in SHIPPED, f"{ASSETS / 'pusher-64'} is missing: `freeaction demo` needs it"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_small_loadable_and_documented(name):
    from freeaction import WorldModel

    folder = ASSETS / name
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert size <= 20e6, f"{name}: {size / 1e6:.1f} MB > 20 MB"
    assert not list(folder.rglob("*.pt")) and not list(folder.rglob("*.bin")), "safetensors only"
    card = (folder / "MODEL_CARD.md").read_text()
    for section in ("## Quality bar", "## Data", "## Training", "Latent L2"):
        assert section in card, f"{name}/MODEL_CARD.md has no {section!r}"
    info = json.loads((folder / "shipped.json").read_text())
    assert info["simulator"] in ("pusher", "arm") and info["size"] == [64, 64]
    wm = WorldModel.load(name)
    assert wm.frame_size == (64, 64)
    assert wm.config.action_dim == (2 if info["simulator"] == "pusher" else 7)
    stats = wm.action_stats
    assert stats["mu_act"] > 0 and stats["num_frames"] == wm.config.num_frames  # mu_act per chunk of F-1


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_files_record_no_machine_paths(name):
    from pathlib import PurePosixPath, PureWindowsPath

    def strings(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
        elif isinstance(value, str):
            yield value

    for path in (ASSETS / name).rglob("*.json"):
        for text in strings(json.loads(path.read_text())):
            assert not PurePosixPath(text).is_absolute() and not PureWindowsPath(text).is_absolute(), (path, text)
    assert json.loads((ASSETS / name / "config.json").read_text())["training"]["dataset"] == "data"


def test_names_cover_what_ships():
    assert set(SHIPPED) <= set(SHIPPED_MODELS)


def test_a_methods_own_mu_act_wins_over_statistics_of_another_magnitude():
    """The sweep's m(a) = mean_step variants carry their own mu_act; the shipped statistics (made
    for the L2 norm) must not be checked against them, but are refused when they would be used."""
    from freeaction import WorldModel
    from freeaction.errors import InputError
    from freeaction.method import Method

    wm = WorldModel.load("pusher-64")
    assert wm.action_stats["magnitude"] == "l2"

    def method(truncation: dict) -> Method:
        return Method.from_dict({"name": "m", "truncation": {"type": "action_scaled", **truncation}})

    assert wm.resolve(method({"magnitude": "mean_step", "mu_act": 0.25}))[0].truncation.mu_act == 0.25
    assert wm.resolve(method({}))[0].truncation.mu_act == pytest.approx(wm.action_stats["mu_act"])
    with pytest.raises(InputError, match="mean_step"):
        wm.resolve(method({"magnitude": "mean_step"}))
