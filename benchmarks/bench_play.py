"""`freeaction play` responsiveness: key-press-to-first-new-frame latency and sustained frames/s.

    python benchmarks/bench_play.py                               # pusher-64 and arm-64, the page's samplers
    python benchmarks/bench_play.py --seconds 5 --presses 4       # a short run
    python benchmarks/bench_play.py --models pusher-64 --sampler dpm++ --steps 4 --seconds 20
    python benchmarks/bench_play.py --models pusher-64 --soak 600  # a 10-minute session's memory

The real server (uvicorn, in this process) and a websocket client that acts as the page. For each
panel set (one unguided panel; unguided + FreeAction, the page's default; one FreeAction panel):

- latency: the client changes the held keys at random moments and times the first frame made for
  the new keys (median and 95th percentile over ``--presses`` presses);
- frames/s: with a key held and the display rate set to 30, generated frames per second per panel
  over ``--seconds`` seconds (the display never waits for the network; generation is the limit),
  and the same figure computed from the generating thread's CPU time per chunk: what one core
  that nothing else uses would give (the machine is shared, so wall-clock rates understate it).

Each model runs with the sampler and steps its page starts with (``play.controls.PLAY_SAMPLERS``)
unless ``--sampler``/``--steps`` say otherwise; every row states them. The simulator panel is on (as
on the page). Figures depend on the machine and its load: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

import torch
from websockets.sync.client import connect

from freeaction.commands.play import default_precision, simulator_of
from freeaction.pipeline import WorldModel
from freeaction.play.controls import PlaySettings, initial_settings
from freeaction.play.server import BackgroundServer, PlayApp, create_app

PANEL_SETS = {
    "one panel (unguided)": {"method_a": "unguided", "method_b": "off"},
    "two panels (unguided + FreeAction)": {"method_a": "unguided", "method_b": "freeaction"},
    "one panel (FreeAction)": {"method_a": "freeaction", "method_b": "off"},
}


def frames_until(ws, predicate, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if msg["type"] == "error":
            raise RuntimeError(msg["message"])
        if msg["type"] == "frame" and predicate(msg):
            return msg


def keys_for(action_dim: int, k: int) -> list[float]:
    moves = [[1, 0], [0, 1], [-1, 0], [0, -1]]
    return moves[k % 4] + ([0.0, 0.0] if action_dim == 7 else [])


def measure(url: str, action_dim: int, panels: dict, args: argparse.Namespace) -> dict:
    """Latency and frames/s of one panel set on a fresh connection (one tab)."""
    with connect(url) as ws:
        chunk = json.loads(ws.recv(timeout=120))["chunk"]  # hello
        ws.send(json.dumps({"type": "settings", "settings": {**panels, "fps": 30}}))
        seq = 1
        ws.send(json.dumps({"type": "keys", "keys": keys_for(action_dim, 0), "seq": seq}))
        frames_until(ws, lambda m: m["key_seq"] >= seq)  # warm up
        start, n, cpu = time.monotonic(), 0, {}
        while time.monotonic() - start < args.seconds:
            msg = frames_until(ws, lambda m: True)
            cpu[(msg["t"] - 1) // chunk] = msg["generate_cpu_s"]
            n += 1
        fps = n / (time.monotonic() - start)
        cpu_fps = chunk / statistics.median(cpu.values())
        latencies = []
        rng = random.Random(0)
        for k in range(1, args.presses + 1):
            deadline = time.monotonic() + rng.uniform(0.2, 1.0)  # land at a random moment of a chunk
            while time.monotonic() < deadline:
                try:
                    ws.recv(timeout=max(0.01, deadline - time.monotonic()))
                except TimeoutError:
                    break
            seq += 1
            t0 = time.monotonic()
            ws.send(json.dumps({"type": "keys", "keys": keys_for(action_dim, k), "seq": seq}))
            frames_until(ws, lambda m, s=seq: m["key_seq"] >= s)
            latencies.append(time.monotonic() - t0)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    return {"fps": fps, "cpu_fps": cpu_fps, "latency_median": statistics.median(latencies), "latency_p95": p95,
            "presses": len(latencies)}


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def soak(url: str, action_dim: int, seconds: float) -> None:
    """One session with keys changing every second for ``seconds``: memory in use every minute."""
    with connect(url) as ws:
        start, k, last_print, frames = time.monotonic(), 0, 0.0, 0
        while (elapsed := time.monotonic() - start) < seconds:
            if elapsed >= k:
                k += 1
                ws.send(json.dumps({"type": "keys", "keys": keys_for(action_dim, k), "seq": k}))
            try:
                if json.loads(ws.recv(timeout=0.5))["type"] == "frame":
                    frames += 1
            except TimeoutError:
                pass
            if elapsed - last_print >= 60 or last_print == 0:
                last_print = max(elapsed, 1e-9)
                print(f"  soak {elapsed:5.0f} s: {frames} frames, memory in use {rss_mib():.0f} MiB", flush=True)
        print(f"  soak done: {frames} frames in {seconds:.0f} s, memory in use {rss_mib():.0f} MiB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["pusher-64", "arm-64"])
    p.add_argument("--sampler", default=None, help="default: each model's page default (PLAY_SAMPLERS)")
    p.add_argument("--steps", type=int, default=None, help="default: each model's page default")
    p.add_argument("--precision", default=None, help="default: what `freeaction play` picks (bf16 where native)")
    p.add_argument("--seconds", type=float, default=20.0, help="frames/s measuring time per panel set")
    p.add_argument("--presses", type=int, default=10, help="key presses timed per panel set")
    p.add_argument("--soak", type=float, default=0.0, help="run one session this long and print its memory")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1: the CPU-time figure is then the generating thread's whole cost)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    precision = args.precision or default_precision()
    load, began = os.getloadavg(), time.monotonic()
    print(f"{os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min); "
          f"torch threads {torch.get_num_threads()}; {precision}")
    rows = []
    for model in args.models:
        wm = WorldModel.load(model, precision=precision)
        settings = sampler_settings(model, args.sampler, args.steps)
        sampler = f"{settings.sampler} {settings.steps}"
        play = PlayApp(wm, model, simulator_of(model), precision=precision, settings=settings,
                       save_dir=Path("/dev/null"))
        with BackgroundServer(create_app(play)) as url:
            ws_url = url.replace("http", "ws") + "/ws"
            if args.soak:
                soak(ws_url, wm.config.action_dim, args.soak)
                continue
            for name, panels in PANEL_SETS.items():
                r = measure(ws_url, wm.config.action_dim, panels, args)
                rows.append({"model": model, "sampler": sampler, "panels": name, **r})
                print(f"{model:10s} {sampler:8s} {name:36s} latency median {r['latency_median']:.2f} s, p95 "
                      f"{r['latency_p95']:.2f} s; {r['fps']:.1f} frames/s per panel ({r['cpu_fps']:.1f} "
                      "from the generating thread's CPU time)", flush=True)
    if rows:
        print("| model | sampler | panels | latency median (s) | latency p95 (s) | frames/s per panel | "
              "frames/s from CPU time |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['model']} | {r['sampler']} | {r['panels']} | {r['latency_median']:.2f} | "
                  f"{r['latency_p95']:.2f} | {r['fps']:.1f} | {r['cpu_fps']:.1f} |")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; "
          f"the run took {time.monotonic() - began:.0f} s")


def sampler_settings(model: str, sampler: str | None, steps: int | None) -> PlaySettings:
    """The page's initial settings for ``model`` with ``sampler``/``steps`` replaced where given."""
    changes = {k: v for k, v in {"sampler": sampler, "steps": steps}.items() if v is not None}
    return initial_settings(model).updated(changes)


if __name__ == "__main__":
    main()
