"""The play server over real websockets (uvicorn on a free local port): several tabs, closed tabs,
malformed messages, the session limit, and a short soak with bounded memory."""

from __future__ import annotations

import gc
import json
import time
import weakref
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the play extra (starlette, uvicorn, websockets) is not installed")
from websockets.sync.client import connect  # noqa: E402

from freeaction.play.controls import PLAY_SAMPLERS, PlaySettings  # noqa: E402
from freeaction.play.server import BackgroundServer, PlayApp, create_app  # noqa: E402

FAST = PlaySettings(sampler="ddim", steps=1, fps=30)


@pytest.fixture
def served(tiny_world, tmp_path):
    play = PlayApp(tiny_world, "tiny", "pusher", settings=FAST, save_dir=tmp_path / "saves", max_sessions=2,
                   max_frames=45)
    with BackgroundServer(create_app(play)) as url:
        yield play, url.replace("http", "ws") + "/ws"


def receive_until(ws, kind: str, timeout: float = 60.0, **match) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if msg["type"] == kind and all(msg.get(k) == v for k, v in match.items()):
            return msg


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_tabs_get_their_own_sessions_and_a_closed_tab_frees_its_own(served) -> None:
    play, url = served
    with connect(url) as one, connect(url) as two:
        a, b = receive_until(one, "hello"), receive_until(two, "hello")
        assert a["session"] != b["session"]
        receive_until(one, "start")
        receive_until(two, "start")
        one.send(json.dumps({"type": "keys", "keys": [1, 0], "seq": 1}))
        two.send(json.dumps({"type": "keys", "keys": [0, -1], "seq": 1}))
        f1, f2 = receive_until(one, "frame", key_seq=1), receive_until(two, "frame", key_seq=1)
        assert f1["keys"] == [1.0, 0.0] and f2["keys"] == [0.0, -1.0]  # no mixing
        assert set(f1["frames"]) == {"A", "B", "sim"}
        assert len(play.sessions) == 2
        closed = weakref.ref(play.sessions[b["session"]])  # the session (panels, queue, recording) of tab two
        with connect(url) as three:  # over the limit: told so, not crashed
            assert "already runs 2 sessions" in receive_until(three, "error")["message"]
        two.close()
        wait_for(lambda: len(play.sessions) == 1)
        assert b["session"] not in play.sessions
        wait_for(lambda: gc.collect() >= 0 and closed() is None)  # nothing holds it: its memory is freed
        one.send(json.dumps({"type": "keys", "keys": [-1, 0], "seq": 2}))
        assert receive_until(one, "frame", key_seq=2)["keys"] == [-1.0, 0.0]
    wait_for(lambda: not play.sessions)


def test_malformed_messages_get_an_error_and_the_session_goes_on(served) -> None:
    _, url = served
    with connect(url) as ws:
        receive_until(ws, "start")
        for bad, expected in [
            ("not json", "not JSON"),
            ("[1, 2]", "JSON object"),
            (json.dumps({"type": "fly"}), "unknown message type"),
            (json.dumps({"type": "keys", "keys": "left"}), "keys must be a list"),
            (json.dumps({"type": "keys", "keys": [1, 0], "seq": "x"}), "seq must be an integer"),
            (json.dumps({"type": "settings", "settings": {"steps": -3}}), "steps must be"),
            (json.dumps({"type": "upload", "data": "data:image/png;base64,AAAA"}), "not an image"),
            (b"\x00\x01", "binary"),
        ]:
            ws.send(bad)
            assert expected in receive_until(ws, "error")["message"]
        ws.send(json.dumps({"type": "keys", "keys": [0, 1], "seq": 5}))
        assert receive_until(ws, "frame", key_seq=5)["keys"] == [0.0, 1.0]


def rss_mib() -> float:
    statm = Path("/proc/self/statm")
    if not statm.is_file():
        pytest.skip("needs /proc/self/statm (Linux) to read the memory in use")
    import os

    return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_a_short_soak_keeps_memory_bounded(served) -> None:
    """Keys change every few frames for a while; the queue, the recording and the memory stay bounded
    (the 10-minute version is the same loop for longer: `benchmarks/bench_play.py --soak 600`)."""
    play, url = served
    with connect(url) as ws:
        receive_until(ws, "start")
        directions = [[1, 0], [0, 1], [-1, 0], [0, -1]]
        frames, seq, start_rss = 0, 0, None
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv(timeout=60))
            if msg["type"] != "frame":
                continue
            frames += 1
            if frames == 30:
                start_rss = rss_mib()
            if frames % 5 == 0:
                seq += 1
                ws.send(json.dumps({"type": "keys", "keys": directions[seq % 4], "seq": seq}))
            assert msg["recorded"] <= 45
        session = next(iter(play.sessions.values()))
        assert len(session.queue) <= session.max_ahead
        assert session.recording.length <= 45
        assert frames > 30, f"only {frames} frames in 25 s"
        assert rss_mib() - start_rss < 150


def test_an_app_without_settings_starts_with_the_models_own(tiny_world, tmp_path) -> None:
    shipped = PlayApp(tiny_world, "pusher-64", "pusher", save_dir=tmp_path)
    assert (shipped.settings.sampler, shipped.settings.steps) == PLAY_SAMPLERS["pusher-64"]
    assert PlayApp(tiny_world, "my-checkpoint", None, save_dir=tmp_path).settings == PlaySettings()
    assert PlayApp(tiny_world, "pusher-64", "pusher", settings=FAST, save_dir=tmp_path).settings == FAST
