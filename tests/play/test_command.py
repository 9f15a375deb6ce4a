"""``freeaction play``'s command line: defaults, the warning for a non-local host, any checkpoint."""

from __future__ import annotations

import pytest

pytest.importorskip("uvicorn", reason="the play extra is not installed")
import uvicorn  # noqa: E402

from freeaction.cli import build_parser, main  # noqa: E402
from freeaction.play.controls import PLAY_SAMPLERS, PlaySettings  # noqa: E402


@pytest.fixture
def served(monkeypatch):
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_defaults_serve_pusher_64_on_localhost_without_a_warning(served, capsys) -> None:
    args = build_parser().parse_args(["play"])
    assert (args.model, args.host, args.no_browser) == ("pusher-64", "127.0.0.1", False)
    assert main(["play", "--no-browser", "--precision", "fp32", "--port", "8123"]) == 0
    (app, kw), = served
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8123
    play = app.state.play
    assert play.sim_kind == "pusher" and play.precision == "fp32"
    assert (play.settings.sampler, play.settings.steps) == PLAY_SAMPLERS["pusher-64"]
    assert "WARNING" not in capsys.readouterr().out


def test_another_host_is_warned_about(served, capsys, tiny_checkpoint) -> None:
    assert main(["play", "--model", str(tiny_checkpoint), "--host", "0.0.0.0", "--no-browser",
                 "--precision", "fp32", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: serving on 0.0.0.0" in out and "no authentication" in out
    play = served[0][0].state.play
    assert play.sim_kind is None and play.settings.steps == 2  # a plain checkpoint has no simulator
    assert play.settings.sampler == PlaySettings.sampler  # nor a measured play sampler


def test_each_shipped_model_starts_with_its_play_sampler(served) -> None:
    assert main(["play", "--model", "arm-64", "--no-browser", "--precision", "fp32", "--no-simulator"]) == 0
    settings = served[0][0].state.play.settings
    assert (settings.sampler, settings.steps) == PLAY_SAMPLERS["arm-64"]
    assert main(["play", "--no-browser", "--precision", "fp32", "--sampler", "ddim", "--steps", "9"]) == 0
    settings = served[1][0].state.play.settings
    assert (settings.sampler, settings.steps) == ("ddim", 9)  # the flags win
