"""`freeaction play` in a real browser: headless Chromium (Debian's ``chromium``, driven by Playwright
through ``executable_path``; no browser is downloaded) on the shipped pusher-64 and arm-64.

Pusher: the page loads, held keys reach the server, every panel receives new frames, the effector
disc of both world-model panels and of the simulator moves the pressed way (found by its colour),
save writes files ``freeaction generate`` reproduces exactly, and a bad upload is refused on the page.

Arm: every panel receives new frames for the x, y and z keys and the gripper toggle, the
simulator's gripper moves the pressed way and closes (read from the simulator's state), the
toggle sets the gripper entry of the 7-D actions, and ``generate`` reproduces a saved panel.
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
from freeaction.play.scene import free_renderers  # noqa: E402
from freeaction.play.server import BackgroundServer, PlayApp, create_app  # noqa: E402
from freeaction.sim import MissingDependencyError, load_kind  # noqa: E402
from freeaction.sim.pusher import EE_COLOR, TABLE_COLOR  # noqa: E402

SCENE_SEED = 30  # the disc starts bottom left with free table to its right and above it
MIN_MOVE_PX = 6.0
ARM_SCENE_SEED = 3  # the gripper starts above the table with room to move along +x, -y and +z
ARM_MIN_MOVE_M = 0.04  # 7 frames at the default speed move it about 8 cm


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
def browser():
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield browser
        browser.close()


def open_page(browser, url: str):
    """A new tab on ``url``, once the page has its first scene."""
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    page.goto(url)
    page.wait_for_function("window.playState.startSeed !== null", timeout=60_000)
    return page


@pytest.fixture(scope="module")
def page(browser, page_url):
    page = open_page(browser, page_url[0])
    yield page
    page.close()


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


@pytest.fixture(scope="module")
def arm_play(tmp_path_factory):
    try:
        load_kind("arm")
    except MissingDependencyError as exc:
        pytest.skip(f"no arm simulator: {exc}")
    save_dir = tmp_path_factory.mktemp("arm-saves")
    wm = WorldModel.load("arm-64")
    # the direction checks read the simulator's state, so the world-model panels may use the
    # fastest sampler: they only have to keep making frames
    play = PlayApp(wm, "arm-64", "arm", settings=PlaySettings(fps=30, sampler="dpm++", steps=2), save_dir=save_dir)
    free_renderers("arm")  # the process's arm simulator renders on the server's thread from here on
    try:
        with BackgroundServer(create_app(play)) as url:
            yield play, url
    finally:
        play.close()  # and on the thread of whoever renders next (the simulator tests)


def grip_now(play: PlayApp) -> tuple[np.ndarray, float]:
    """The gripper of the (only) session's simulator: base-frame position (m) and closedness."""
    (session,) = play.sessions.values()
    return session.scene.grip()


def test_arm_play_in_a_browser(browser, arm_play, monkeypatch) -> None:
    play, url = arm_play
    page = open_page(browser, url)
    assert "Q/E" in page.inner_text("#help")
    page.fill("#scene-seed", str(ARM_SCENE_SEED))
    page.click("#new-scene")
    page.wait_for_function(f"window.playState.startSeed === {ARM_SCENE_SEED}", timeout=60_000)
    assert set(page.evaluate("Object.keys(window.playState.history)")) == {"A", "B", "sim"}

    for key, axis, sign in [("d", 0, 1), ("w", 1, -1), ("e", 2, 1)]:  # +x, -y, +z (up), in the base frame
        before, _ = grip_now(play)
        hold(page, key, 7)  # every panel, the simulator's included, shows 7 new frames for the key
        move = grip_now(play)[0] - before
        others = np.delete(move, axis)
        assert sign * move[axis] > ARM_MIN_MOVE_M and np.abs(others).max() < sign * move[axis] / 4, \
            f"key {key!r} moved the gripper by {move} m (base frame)"

    _, open_before = grip_now(play)
    page.keyboard.press("g")
    seq = page.evaluate("window.playState.seq")
    page.wait_for_function(
        "([seq, n]) => Object.values(window.playState.history).every("
        "h => h.filter(f => f.key_seq === seq).length >= n)", arg=[seq, 7], timeout=40_000)
    assert page.evaluate("window.playState.lastFrame.keys") == [0.0, 0.0, 0.0, 1.0]
    _, closed = grip_now(play)
    assert closed > open_before + 0.3, f"the gripper went from {open_before:.2f} to {closed:.2f} closed"

    page.click("#pause")
    page.click("#save")
    page.wait_for_function("document.getElementById('notice').textContent.startsWith('saved')", timeout=30_000)
    (folder,) = play.save_dir.iterdir()
    info = json.loads((folder / "settings.json").read_text())
    raw, actions = np.load(folder / "raw_actions.npy"), np.load(folder / "actions.npy")
    assert raw.shape[1] == actions.shape[1] == 7
    assert raw[0, 6] == 0.0 and raw[-1, 6] == 1.0  # the toggle closed the gripper in the 7-D action
    assert set(np.unique(raw[:, 6])) == {0.0, 1.0}
    assert (raw[:, :3] != 0).any(axis=0).all() and (raw[:, 3:6] == 0).all()  # x, y, z moves; no rotation

    monkeypatch.chdir(folder)
    command = shlex.split(info["reproduce"]["A"])
    assert main([*command[1:], "--frames-dir", "frames-A"]) == 0
    generated = np.stack([np.asarray(Image.open(p)) for p in sorted(Path("frames-A").glob("*.png"))])
    assert np.array_equal(generated, np.load(folder / info["panels"]["A"]["video"].replace(".mp4", ".npy")))
    page.close()
