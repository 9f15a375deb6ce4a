"""The ``freeaction play`` web app: one page, one websocket per tab, one :class:`PlaySession` each.

Starlette serves ``static/index.html`` (and its script and style) and the websocket ``/ws``. Each
connection runs three asyncio tasks over its session: the receiver (messages from the page), the
producer (generates chunks in a worker thread while the session's bounded queue has room) and the
player (takes chunks and sends their frames at the session's display rate).

Messages from the page (JSON objects with a ``type``)::

    {"type": "keys", "keys": [dx, dy] | [dx, dy, dz, grip], "seq": n}   held keys (coalesced)
    {"type": "settings", "settings": {name: value}}                      see PlaySettings
    {"type": "pause", "paused": true | false}
    {"type": "reset"}                                                    back to the first frame
    {"type": "new_scene", "seed": n}                                     a fresh simulator scene (seed optional)
    {"type": "upload", "name": "...", "data": "data:image/png;base64,..."}
    {"type": "save"}

Messages to the page: ``hello`` (model, panels, settings, choices), ``start`` (every panel's first
frame), ``frame`` (one frame per panel with m(a), w, tau), ``notice``, ``error``, ``saved``.
A malformed message gets an ``error`` back; the connection stays open.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import itertools
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from freeaction import STANDARD_METHODS
from freeaction.diffusion.schedulers import SCHEDULERS
from freeaction.errors import FreeActionError
from freeaction.pipeline import WorldModel
from freeaction.play.controls import OFF, PlaySettings, initial_settings, key_vector
from freeaction.play.scene import frames_per_step, free_renderers, open_scene
from freeaction.play.session import PlaySession, Shown
from freeaction.play.upload import read_upload

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("freeaction.play")


@dataclass
class PlayApp:
    """What every connection shares: the model, the simulator kind, limits and the session registry."""

    wm: WorldModel
    model_name: str
    sim_kind: str | None
    precision: str = "fp32"
    settings: PlaySettings | None = None  # None: the model's initial settings (controls.initial_settings)
    save_dir: Path = Path("freeaction-play")
    max_sessions: int = 4
    max_ahead: int = 1
    max_frames: int = 1800
    sim_world: int = 1
    sessions: dict[int, PlaySession | None] = field(default_factory=dict)  # None: being built
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="play"))
    # Simulators render with GL contexts bound to the thread that made them: one thread runs them all.
    sim_thread: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="play-sim"))
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.save_dir = Path(self.save_dir)
        if self.settings is None:
            self.settings = initial_settings(self.model_name)

    def open_scene(self, seed: int) -> Any:
        return open_scene(self.sim_kind, seed, self.wm.frame_size, self.sim_world) if self.sim_kind else None

    def close(self) -> None:
        """Free the simulator's GL contexts (on the thread that made them) and stop the worker threads;
        for when the server has stopped, so that this process can render the simulator elsewhere."""
        if self.sim_kind:
            self.sim_thread.submit(free_renderers, self.sim_kind).result()
        self.sim_thread.shutdown()
        self.executor.shutdown(cancel_futures=True)


def png_url(frame: np.ndarray) -> str:
    """An RGB uint8 frame as a ``data:image/png`` URL."""
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class Connection:
    """One tab: its websocket, its session and the tasks that drive them."""

    def __init__(self, app: PlayApp, ws: WebSocket) -> None:
        self.app, self.ws = app, ws
        self.id = next(app._ids)
        self.send_lock = asyncio.Lock()
        self.wake = asyncio.Event()  # the producer: something changed (keys, room in the queue, ...)
        self.arrived = asyncio.Event()  # the player: a chunk was queued
        self.session: PlaySession | None = None
        self.scene_seed = 0
        self.uploaded = False

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(message))

    async def in_thread(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.app.executor, fn, *args)

    async def in_sim_thread(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.app.sim_thread, fn, *args)

    # -- life cycle --------------------------------------------------------------------------
    async def run(self) -> None:
        app = self.app
        await self.ws.accept()
        if len(app.sessions) >= app.max_sessions:
            await self.send({"type": "error", "message": f"the server already runs {app.max_sessions} sessions "
                             "(tabs); close one and reload"})
            await self.ws.close()
            return
        app.sessions[self.id] = None  # the slot is taken while the session is being built
        tasks: list[asyncio.Task] = []
        try:
            self.scene_seed = random.randrange(100_000)
            scene = await self.in_sim_thread(app.open_scene, self.scene_seed)
            first = scene.first_frame() if scene is not None else np.full((*app.wm.frame_size, 3), 200, np.uint8)
            self.session = await self.in_thread(lambda: PlaySession(
                app.wm, first, app.settings, scene=scene, max_ahead=app.max_ahead, max_frames=app.max_frames,
                precision=app.precision, model_name=app.model_name,
                frames_per_step=frames_per_step(app.sim_kind, app.sim_world)))
            app.sessions[self.id] = self.session
            await self.send(self.hello())
            await self.send_start(None if scene is not None else "no simulator for this model: upload a start image")
            tasks = [asyncio.create_task(self.reporting(self.produce())),
                     asyncio.create_task(self.reporting(self.play()))]
            await self.receive()
        finally:
            for task in tasks:
                task.cancel()
            if self.session is not None:
                self.session.close()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            app.sessions.pop(self.id, None)
            self.session = None

    def hello(self) -> dict[str, Any]:
        s = self.session
        assert s is not None
        return {
            "type": "hello", "model": self.app.model_name, "simulator": self.app.sim_kind,
            "action_dim": s.action_dim, "chunk": s.chunk, "frame_size": list(self.app.wm.frame_size),
            "precision": self.app.precision, "settings": s.settings.to_dict(),
            "methods": sorted(STANDARD_METHODS), "off": OFF, "samplers": sorted(SCHEDULERS),
            "session": self.id,
        }

    async def send_start(self, notice: str | None = None) -> None:
        s = self.session
        assert s is not None
        frames = {pid: png_url(f) for pid, f in s.first_frames().items()}
        await self.send({"type": "start", "frames": frames, "panels": s.panel_methods(),
                         "simulator": s.scene is not None, "seed": self.scene_seed if s.scene else None,
                         "settings": s.settings.to_dict(), "notice": notice})

    # -- the page's messages -----------------------------------------------------------------
    async def receive(self) -> None:
        while True:
            try:
                message = await self.ws.receive()
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            try:
                if text is None:
                    raise FreeActionError("binary messages are not understood; send JSON text")
                try:
                    msg = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise FreeActionError(f"not JSON: {exc}") from None
                if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
                    raise FreeActionError('a message must be a JSON object with a "type"')
                await self.handle(msg)
            except (FreeActionError, ValueError) as exc:
                await self.send({"type": "error", "message": str(exc)})
            except Exception as exc:  # a bug must not end the connection silently
                log.exception("play: message failed")
                await self.send({"type": "error", "message": f"internal error: {exc!r}"})

    async def handle(self, msg: dict[str, Any]) -> None:
        s, app = self.session, self.app
        assert s is not None
        kind = msg["type"]
        if kind == "keys":
            seq = msg.get("seq")
            if seq is not None and not isinstance(seq, int):
                raise FreeActionError("keys: seq must be an integer")
            s.set_keys(key_vector(msg.get("keys"), s.action_dim), seq)
        elif kind == "settings":
            restarted = await self.in_thread(s.update_settings, msg.get("settings"))
            if restarted:
                await self.send_start("settings changed: restarted from the first frame, so a saved run "
                                      "stays one rollout `freeaction generate` reproduces")
            else:
                await self.send({"type": "settings", "settings": s.settings.to_dict()})
        elif kind == "pause":
            s.set_paused(bool(msg.get("paused", True)))
        elif kind in ("reset", "new_scene"):
            if kind == "new_scene":
                seed = msg.get("seed")
                self.scene_seed = int(seed) if isinstance(seed, int) and seed >= 0 else random.randrange(100_000)
                self.uploaded = False
            if self.uploaded or app.sim_kind is None:
                await self.in_thread(s.reset, s.first, None)
            else:
                scene = await self.in_sim_thread(app.open_scene, self.scene_seed)
                await self.in_thread(s.reset, scene.first_frame(), scene)
            await self.send_start()
        elif kind == "upload":
            image, notice = read_upload(msg.get("data"), app.wm.frame_size)
            self.uploaded = True
            await self.in_thread(s.reset, image, None)
            await self.send_start(notice or "image accepted")
        elif kind == "save":
            folder = app.save_dir / f"play-{time.strftime('%Y%m%d-%H%M%S')}-{self.id}"
            info = await self.in_thread(s.save, folder)
            await self.send({"type": "saved", "folder": str(folder.resolve()), "files": info["files"],
                             "frames": info["frames"], "reproduce": info["reproduce"]})
        else:
            raise FreeActionError(f"unknown message type {kind!r}")
        self.wake.set()

    # -- generation and display --------------------------------------------------------------
    async def reporting(self, job: Any) -> None:
        """Run a task; if it fails, say so on the page (the session stops updating)."""
        try:
            await job
        except (asyncio.CancelledError, WebSocketDisconnect):  # the tab closed
            return
        except Exception as exc:
            log.exception("play: session task failed")
            with contextlib.suppress(Exception):
                await self.send({"type": "error", "message": f"the session stopped: {exc!r}; reload the page"})

    async def produce(self) -> None:
        s = self.session
        assert s is not None
        while True:
            self.wake.clear()
            plan = s.plan()
            if plan is None:
                await self.wake.wait()
                continue
            try:
                chunk = await self.in_thread(s.run_plan, plan)
            except Exception as exc:
                log.exception("play: generation failed")
                s.offer(None, plan)
                s.set_paused(True)
                await self.send({"type": "error", "message": f"generation failed, paused: {exc}"})
                continue
            if s.offer(chunk, plan):
                self.arrived.set()

    async def play(self) -> None:
        s = self.session
        assert s is not None
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            shown: Shown | None = await self.in_sim_thread(s.take)
            if shown is None:
                self.arrived.clear()
                self.wake.set()
                await self.arrived.wait()
                continue
            self.wake.set()  # room in the queue: generate the next chunk while these frames play
            run_id, plan = shown.run_id, shown.chunk.plan
            info = {pid: {"method": s.streams[pid].method.name if pid in s.streams else pid, "m": r.m, "w": r.w,
                          "tau": r.tau} for pid, r in shown.chunk.panels.items()}
            for i in range(s.chunk):
                while s.paused and s.run_id == run_id:
                    await asyncio.sleep(0.05)
                if s.run_id != run_id:
                    break
                frames = {pid: png_url(r.frames[i]) for pid, r in shown.chunk.panels.items()}
                if shown.sim_frames is not None:
                    frames["sim"] = png_url(shown.sim_frames[i])
                due = max(due, loop.time())
                await asyncio.sleep(due - loop.time())
                await self.send({
                    "type": "frame", "t": (plan.index * s.chunk) + i + 1, "frames": frames, "info": info,
                    "keys": plan.keys.tolist(), "key_seq": plan.key_seq, "generate_s": round(shown.chunk.seconds, 3),
                    "generate_cpu_s": round(shown.chunk.cpu_seconds, 3),
                    "dropped": s.dropped, "recorded": s.recording.length, "max_frames": s.max_frames,
                })
                due += 1.0 / s.settings.fps


def create_app(play: PlayApp) -> Starlette:
    """The Starlette app serving the page and the websocket for ``play``'s model."""

    async def index(request: Any) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def socket(ws: WebSocket) -> None:
        await Connection(play, ws).run()

    app = Starlette(routes=[
        Route("/", index),
        WebSocketRoute("/ws", socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    app.state.play = play
    return app


class BackgroundServer:
    """uvicorn serving an app from a thread (for tests and benchmarks): ``with BackgroundServer(app) as url``."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.config = uvicorn.Config(app, host=host, port=port, log_level="warning", ws="websockets-sansio")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the play server did not start")
            time.sleep(0.05)
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
