"""``freeaction play``: a local web page to steer the robot and watch the world model live."""

from __future__ import annotations

import argparse
import threading
import webbrowser
from pathlib import Path
from typing import Any

from freeaction.errors import InputError
from freeaction.pipeline import PRECISIONS, WorldModel
from freeaction.shipped import available_models, scene_of, shipped_info
from freeaction.sim import MissingDependencyError, load_kind

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def default_precision() -> str:
    """bf16 autocast where the CPU has native bf16 (AVX512-BF16 or AMX), else fp32."""
    import torch

    try:
        native = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    except (AttributeError, RuntimeError):  # an older or different build: no way to tell
        native = False
    return "bf16" if native else "fp32"


def simulator_of(model: str) -> str | None:
    """The simulator kind of a shipped model (None for other checkpoints)."""
    return shipped_info(model)["simulator"] if model in available_models() else None


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from freeaction.play.server import PlayApp, create_app
    except ModuleNotFoundError as exc:
        raise InputError(f"freeaction play needs the play extra ({exc.name} is missing): "
                         'pip install "freeaction[play]"') from exc
    from freeaction.play.controls import initial_settings

    if args.host not in LOCAL_HOSTS:
        print(f"WARNING: serving on {args.host}: anyone who can reach {args.host}:{args.port} can run the model "
              f"on this machine and write recordings under {args.save_dir}. There is no authentication. "
              "Use the default --host 127.0.0.1 unless you mean this.")
    precision = args.precision or default_precision()
    wm = WorldModel.load(args.model, args.vae, precision=precision)
    wm._require_vae()
    sim = None if args.no_simulator else simulator_of(args.model)
    if sim is not None:
        try:
            load_kind(sim)
        except MissingDependencyError as exc:
            print(f"freeaction play: no simulator panel: {exc}")
            sim = None
    settings = initial_settings(args.model).updated(
        {k: v for k, v in {"sampler": args.sampler, "steps": args.steps}.items() if v is not None})
    scene = scene_of(args.model)
    play = PlayApp(wm, args.model, sim, precision=precision, settings=settings, save_dir=Path(args.save_dir),
                   max_sessions=args.max_sessions, sim_world=scene[1] if scene else 1)
    url = f"http://{'localhost' if args.host in LOCAL_HOSTS else args.host}:{args.port}/"
    world = f" world {play.sim_world}" if sim else ""
    print(f"freeaction play: {args.model} ({precision}), simulator {sim or 'none'}{world}; open {url} (Ctrl-C stops)")
    if not args.no_browser:
        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    try:
        uvicorn.run(create_app(play), host=args.host, port=args.port, log_level="warning", ws="websockets-sansio")
    finally:
        play.close()
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "play",
        help="steer the robot in the browser: two world-model methods and the simulator, live",
        description=__doc__,
    )
    p.add_argument("--model", default="pusher-64",
                   help="shipped model (pusher-64, arm-64) or checkpoint folder (default: pusher-64)")
    p.add_argument("--vae", default=None, help="VAE folder (default: the checkpoint's vae/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--precision", choices=sorted(PRECISIONS), default=None,
                   help="default: bf16 autocast on CPUs with native bf16, else fp32")
    p.add_argument("--sampler", default=None,
                   help="initial sampler (default: the model's fast sampler, docs/play.md; changeable on the page)")
    p.add_argument("--steps", type=int, default=None, help="initial steps (default: the model's, docs/play.md)")
    p.add_argument("--save-dir", default="freeaction-play", help="where the save button writes recordings")
    p.add_argument("--max-sessions", type=int, default=4, help="tabs served at once")
    p.add_argument("--no-simulator", action="store_true", help="no simulator panel (start from uploaded images)")
    p.set_defaults(func=run)
