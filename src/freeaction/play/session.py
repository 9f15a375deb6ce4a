"""One person's play session: panels, the chunk queue between generation and display, the recording.

Generation and display run at their own pace, joined by a bounded queue of generated chunks:

- :meth:`PlaySession.plan` says what to generate next (``None`` while paused or while the queue is
  full): the held keys, turned into a chunk of identical actions, from the state after the last
  queued chunk (or the last displayed one).
- :meth:`PlaySession.run_plan` generates it, every world-model panel in turn (no lock held);
  :meth:`PlaySession.offer` queues it, unless the session moved on meanwhile (a stale chunk, dropped).
- :meth:`PlaySession.take` hands the oldest queued chunk to the display, steps the simulator with
  its actions, and records it: displayed chunks are final.

Key messages are coalesced: only the latest held keys count, and a message that repeats them
changes nothing. New keys make every queued chunk stale (dropped, to be generated again with the
new keys), and stop the chunk being generated unless one was already stopped since the last chunk
arrived (so fast key changes cannot starve the display). Changing a generation setting (methods,
lambda, cutoff, tau bounds, sampler, steps, seed) restarts from the first frame, so a saved
recording is one rollout ``freeaction generate`` reproduces.

Memory is bounded: at most ``max_ahead`` chunks wait in the queue and the recording
(:class:`~freeaction.play.recording.Recording`) keeps at most ``max_frames`` frames per panel.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from freeaction.pipeline import WorldModel
from freeaction.play.controls import OFF, PlaySettings, model_action, raw_action, sim_command
from freeaction.play.recording import Recording, save_recording
from freeaction.play.scene import Scene
from freeaction.play.stream import Cancelled, ChunkResult, PanelStream, StreamState

GENERATION_SETTINGS = ("method_a", "method_b", "sampler", "steps", "lam", "cutoff", "tau_min", "tau_max", "seed")
"""Settings whose change restarts the rollout from the first frame."""


@dataclass(frozen=True)
class Plan:
    """What to generate next: the session epoch it belongs to, its keys and actions, and per panel
    the state it starts from."""

    epoch: int
    index: int
    keys: np.ndarray
    key_seq: int
    raw: np.ndarray  # (chunk, A) raw robot actions
    actions: np.ndarray  # (chunk, A) model-space actions
    starts: dict[str, StreamState]
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Chunk:
    """A generated chunk: its plan and every world-model panel's result."""

    plan: Plan
    panels: dict[str, ChunkResult]
    seconds: float  # wall-clock time it took
    cpu_seconds: float  # CPU time of the generating thread (what it costs on an otherwise idle core)


@dataclass
class Shown:
    """A chunk handed to the display: the world-model frames plus the simulator's."""

    chunk: Chunk
    sim_frames: np.ndarray | None
    recorded: bool
    run_id: int  # the rollout it belongs to (a restart starts a new one)


class PlaySession:
    """The world model driven live by one person (one browser tab)."""

    def __init__(self, wm: WorldModel, first: np.ndarray, settings: PlaySettings | None = None, *,
                 scene: Scene | None = None, max_ahead: int = 1, max_frames: int = 1800,
                 precision: str = "fp32", model_name: str = "", frames_per_step: int = 1) -> None:
        if max_ahead < 1:
            raise ValueError("max_ahead must be at least 1")
        self.wm, self.first, self.scene = wm, np.asarray(first, np.uint8), scene
        self.settings = settings or PlaySettings()
        self.settings.validate()
        self.max_ahead, self.max_frames = max_ahead, max_frames
        self.precision, self.model_name = precision, model_name
        self.frames_per_step = int(frames_per_step)  # a world filmed faster moves 1/this as far per frame
        self.action_dim = wm.config.action_dim
        self.chunk = wm.config.num_frames - 1
        self.lock = threading.Lock()
        self.paused = False
        self.keys = np.zeros(4 if self.action_dim == 7 else 2)
        self.key_seq = 0
        self.dropped = 0
        self.epoch = 0
        self._in_flight: Plan | None = None
        self._stopped_since_arrival = False
        self.run_id = 0
        self._restart()

    # -- panels ------------------------------------------------------------------------------
    def panel_methods(self) -> dict[str, str]:
        """Panel id -> method name of the world-model panels shown."""
        names = {"A": self.settings.method_a}
        if self.settings.method_b != OFF:
            names["B"] = self.settings.method_b
        return names

    def _restart(self) -> None:
        """Back to the first frame with the current settings (lock held or not yet shared)."""
        s = self.settings
        self.streams = {
            pid: PanelStream(self.wm, s.method(name), self.first, sampler=s.sampler, steps=s.steps, seed=s.seed)
            for pid, name in self.panel_methods().items()
        }
        self.committed = {pid: st.start for pid, st in self.streams.items()}
        self.queue: deque[Chunk] = deque()
        self.epoch += 1
        if self._in_flight is not None:
            self._in_flight.cancel.set()
        self.recording = Recording(self.first, self.first_frames(), self.max_frames)
        self.frames_shown = 0
        self.run_id += 1

    def first_frames(self) -> dict[str, np.ndarray]:
        """Every panel's first frame: the world models' is the VAE's reconstruction of the start
        image (the frame ``freeaction generate`` writes first), the simulator's its own."""
        frames = {pid: stream.first_frame for pid, stream in self.streams.items()}
        if self.scene is not None:
            frames["sim"] = self.scene.first_frame()
        return frames

    # -- what the person does ----------------------------------------------------------------
    def set_keys(self, keys: np.ndarray, seq: int | None = None) -> bool:
        """Coalesce a keys message; returns True when the held keys changed (stale chunks dropped)."""
        keys = np.asarray(keys, np.float64)
        with self.lock:
            if seq is not None:
                self.key_seq = max(self.key_seq, int(seq))
            if np.array_equal(keys, self.keys):
                return False
            self.keys = keys
            self._drop_queued()
            return True

    def _drop_queued(self) -> None:
        """Drop the queued chunks (stale) and stop the one in flight when it continues them, or, at
        most once per arriving chunk, when it starts from the display's state with the old keys."""
        self.dropped += len(self.queue)
        self.queue.clear()
        plan = self._in_flight
        if plan is None:
            return
        continues_dropped = any(plan.starts[p] is not self.committed.get(p) for p in plan.starts)
        if continues_dropped or not self._stopped_since_arrival:
            if not continues_dropped:
                self._stopped_since_arrival = True
            plan.cancel.set()
            self.epoch += 1

    def update_settings(self, changes: dict[str, Any]) -> bool:
        """Apply setting changes; returns True when they restarted the rollout from the first frame."""
        new = self.settings.updated(changes)
        restart = any(getattr(new, k) != getattr(self.settings, k) for k in GENERATION_SETTINGS)
        with self.lock:
            self.settings = new
            if restart:
                self._restart()
        return restart

    def close(self) -> None:
        """Stop the chunk in flight (the tab is gone)."""
        with self.lock:
            self.paused = True
            if self._in_flight is not None:
                self._in_flight.cancel.set()

    def set_paused(self, paused: bool) -> None:
        with self.lock:
            self.paused = bool(paused)

    def reset(self, first: np.ndarray, scene: Scene | None) -> None:
        """Start again from ``first``: a fresh scene's first frame, or an image without a simulator."""
        with self.lock:
            self.first = np.asarray(first, np.uint8)
            self.scene = scene
            self._restart()

    # -- generation side ---------------------------------------------------------------------
    def plan(self) -> Plan | None:
        """The next chunk to generate, or None (paused, or the queue is full, or one is in flight)."""
        with self.lock:
            if self.paused or self._in_flight is not None or len(self.queue) >= self.max_ahead:
                return None
            if self.queue:
                starts = {pid: result.after for pid, result in self.queue[-1].panels.items()}
            else:
                starts = dict(self.committed)
            raw_one = raw_action(self.keys, self.settings.speed / self.frames_per_step, self.action_dim)
            raw = np.repeat(raw_one[None], self.chunk, axis=0)
            index = self.frames_shown // self.chunk + len(self.queue)
            plan = Plan(self.epoch, index, self.keys.copy(), self.key_seq, raw, model_action(raw), starts)
            self._in_flight = plan
            return plan

    def run_plan(self, plan: Plan) -> Chunk | None:
        """Generate ``plan`` for every world-model panel; None when it was stopped (stale)."""
        t0, cpu0 = time.perf_counter(), time.thread_time()
        try:
            panels = {pid: self.streams[pid].generate(plan.starts[pid], plan.actions, plan.cancel)
                      for pid in plan.starts if pid in self.streams}
        except Cancelled:
            with self.lock:
                if self._in_flight is plan:
                    self._in_flight = None
            return None
        return Chunk(plan, panels, time.perf_counter() - t0, time.thread_time() - cpu0)

    def offer(self, chunk: Chunk | None, plan: Plan) -> bool:
        """Queue a generated chunk; False (dropped) when the session moved on while it was made."""
        with self.lock:
            if self._in_flight is plan:
                self._in_flight = None
            if chunk is None or plan.epoch != self.epoch or plan.cancel.is_set() or len(self.queue) >= self.max_ahead:
                if chunk is not None:
                    self.dropped += 1
                return False
            self.queue.append(chunk)
            self._stopped_since_arrival = False
            return True

    def generate_next(self) -> bool:
        """Plan, generate and offer one chunk synchronously; True when one was queued."""
        plan = self.plan()
        if plan is None:
            return False
        return self.offer(self.run_plan(plan), plan)

    # -- display side ------------------------------------------------------------------------
    def take(self) -> Shown | None:
        """Hand the oldest queued chunk to the display (it becomes final), with the simulator's frames."""
        with self.lock:
            if not self.queue:
                return None
            chunk = self.queue.popleft()
            for pid, result in chunk.panels.items():
                self.committed[pid] = result.after
            scene = self.scene
            self.frames_shown += self.chunk
            recording, run_id = self.recording, self.run_id
            record = recording.has_room(self.chunk)
        sim_frames = None
        if scene is not None:
            sim_frames = np.stack([scene.step(sim_command(a)) for a in chunk.plan.raw])
        with self.lock:
            if record and run_id == self.run_id:
                frames = {pid: result.frames for pid, result in chunk.panels.items()}
                if sim_frames is not None:
                    frames["sim"] = sim_frames
                recording.add(chunk.plan.raw, chunk.plan.actions, frames)
        return Shown(chunk, sim_frames, record, run_id)

    # -- saving ------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> dict[str, Any]:
        """Write the recording (see :func:`freeaction.play.recording.save_recording`)."""
        with self.lock:
            recording, settings = self.recording.snapshot(), self.settings
            methods = {pid: settings.method(name) for pid, name in self.panel_methods().items()}
        return save_recording(recording, folder, settings=settings, methods=methods, chunk=self.chunk,
                              precision=self.precision, model_name=self.model_name)
