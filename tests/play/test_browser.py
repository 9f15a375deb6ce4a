"""`freeaction play` in a real browser: headless Chromium (Debian's ``chromium``, driven by Playwright
through ``executable_path``; no browser is downloaded) on the shipped pusher-64.

The page loads, held keys reach the server, every panel receives new frames, the effector disc of
both world-model panels and of the simulator moves the pressed way (found by its colour), save
writes files ``freeaction generate`` reproduces exactly, and a bad upload is refused on the page.
"""

from __future__ import annotations

import base64
import io
import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="the play extra (starlette, uvicorn, websockets) is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")

from freeaction import WorldModel  # noqa: E402
from freeaction.cli import main  # noqa: E402
from freeaction.eval.effector import locate  # noqa: E402
from freeaction.play.controls import PlaySettings  # noqa: E402
from freeaction.play.server import BackgroundServer, PlayApp, create_app  # noqa: E402
from freeaction.sim.pusher import EE_COLOR, TABLE_COLOR  # noqa: E402

SCENE_SEED = 30  # the disc starts bottom left with free table to its right and above it
MIN_MOVE_PX = 6.0


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium on PATH: install Debian's chromium (apt-get install -y chromium), as .ci/run does")


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("saves")
    wm = WorldModel.load("pusher-64")
    # the model card's sampler (DDPM 50): with the page's fast default (DPM-Solver++ 4) the unguided
    # panel sometimes loses the disc (docs/play.md), which would make the steering check a coin toss
    play = PlayApp(wm, "pusher-64", "pusher", settings=PlaySettings(fps=10, sampler="ddpm", steps=50),
                   save_dir=save_dir)
    with BackgroundServer(create_app(play)) as url:
        yield url, save_dir


@pytest.fixture(scope="module")
def page(page_url):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 800})
        page.goto(page_url[0])
        page.wait_for_function("window.playState.startSeed !== null", timeout=30_000)
        yield page
        browser.close()


def decode(src: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))


def disc(src: str) -> np.ndarray:
    found = locate(decode(src), np.array(EE_COLOR), np.array(TABLE_COLOR))
    assert found is not None, "no effector disc in the frame"
    return found


def hold(page, key: str, frames: int) -> int:
    """Hold ``key`` until every panel showed ``frames`` frames made for it; returns its key_seq."""
    page.keyboard.down(key)
    seq = page.evaluate("window.playState.seq")
    page.wait_for_function(
        "([seq, n]) => Object.values(window.playState.history).every("
        "h => h.filter(f => f.key_seq === seq).length >= n)", arg=[seq, frames], timeout=40_000)
    page.keyboard.up(key)
    return seq


def moved(history: list[dict], seq: int) -> np.ndarray:
    """Disc displacement over the frames made for ``seq``, from the frame shown just before them."""
    idx = [i for i, f in enumerate(history) if f["key_seq"] == seq]
    assert idx and idx[0] > 0
    return disc(history[idx[-1]]["src"]) - disc(history[idx[0] - 1]["src"])


def test_play_in_a_browser(page, page_url, tmp_path, monkeypatch) -> None:
    url, save_dir = page_url
    assert page.title() == "freeaction play"
    page.fill("#scene-seed", str(SCENE_SEED))
    page.click("#new-scene")
    page.wait_for_function(f"window.playState.startSeed === {SCENE_SEED}", timeout=30_000)
    assert set(page.evaluate("Object.keys(window.playState.history)")) == {"A", "B", "sim"}

    right = hold(page, "ArrowRight", 6)
    up = hold(page, "w", 6)
    history = page.evaluate("window.playState.history")
    for pid, frames in history.items():
        dx, dy = moved(frames, right)
        assert dx > MIN_MOVE_PX and abs(dy) < dx, f"panel {pid}: right moved the disc by {dx:.1f}, {dy:.1f} px"
        dx, dy = moved(frames, up)
        assert -dy > MIN_MOVE_PX and abs(dx) < -dy, f"panel {pid}: up moved the disc by {dx:.1f}, {dy:.1f} px"
    captions = page.inner_text("#panels")
    assert "unguided" in captions and "freeaction" in captions and "m(a)" in captions and "tau" in captions

    page.screenshot(path=str(tmp_path / "play.png"))  # what scripts/play_screenshot.py commits under docs/
    page.click("#pause")
    page.click("#save")
    page.wait_for_function("document.getElementById('notice').textContent.startsWith('saved')", timeout=30_000)
    (folder,) = save_dir.iterdir()
    info = json.loads((folder / "settings.json").read_text())
    monkeypatch.chdir(folder)
    command = shlex.split(info["reproduce"]["B"])
    assert main([*command[1:], "--frames-dir", "frames-B"]) == 0
    generated = np.stack([np.asarray(Image.open(p)) for p in sorted(Path("frames-B").glob("*.png"))])
    assert np.array_equal(generated, np.load(folder / info["panels"]["B"]["video"].replace(".mp4", ".npy")))

    page.set_input_files("#upload", files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not a png"}])
    page.wait_for_function("document.getElementById('error').textContent.includes('not an image')", timeout=10_000)
