"""``freeaction policy-eval``: rank policies inside a world model and compare with the simulator.

For every policy and episode ``e`` the scene seeded ``seed + e`` is played once in the simulator
(:class:`~freeaction.envs.PusherEnv`; :class:`~freeaction.envs.ArmEnv` for ``world: arm``) and
once in the world model under each inference method
(:class:`~freeaction.envs.WorldModelVectorEnv`, ``batch_size`` episodes per sampler call). The
policy gets the same per-episode seed in every environment. World-model episodes are also
replayed open loop in the simulator (their actions, the same scene), which gives the per-step
drift of the generated frames from what the simulator does with the same actions: effector and
target-block error in pixels (a missing object costs the frame's diagonal), and the simulator's
success under the world model's actions.

Results folder::

    run.json                      the settings (a resumed run must use the same ones)
    shards/rank000-of-001.jsonl   one row per (environment, method, policy, episode), as it goes
    results.jsonl                 the rows merged
    frames/<env>/<policy>/<e>.npz every episode's frames (env: sim or a method's name)
    results.json, table.md, scatter.png, index.html   the report (:mod:`freeaction.report.policy_eval`)

Rows are written durably after each episode (simulator) or batch (world model); a killed run
resumes where it stopped without losing or duplicating a row, and a second run on the same
folder while one is going is refused (the OS lock on ``.policy_eval.lock``, :class:`~freeaction.files.FolderLock`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import resource
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freeaction.config_files import read_mapping
from freeaction.envs import ArmEnv, ArmTask, PusherEnv, PusherTask, WorldModelVectorEnv, scene_env, scene_horizon
from freeaction.errors import InputError
from freeaction.eval.policy_stats import correlations, mmrv, per_step_mean, ranking_bootstrap, rate
from freeaction.eval.results_folder import ShardWriter, merge_shards, read_rows
from freeaction.files import FolderLock
from freeaction.method import STANDARD_METHODS, Method
from freeaction.pipeline import WorldModel
from freeaction.policies import BUILTIN, load_factory
from freeaction.policies.arm import ARM_BUILTIN
from freeaction.policies.bc import bc_training_world
from freeaction.shipped import resolve_sampler, scene_of
from freeaction.sim.arm_scene import WORLDS as ARM_WORLDS
from freeaction.sim.pusher import WORLDS as PUSHER_WORLDS

RUN_FILE = "run.json"
LOCK_FILE = ".policy_eval.lock"
SIM = "sim"
RANKING_RESAMPLES = 2000  # at most, for the intervals of r and MMRV (each resample recomputes both)
FROZEN_FIELDS = ("checkpoint", "vae", "world", "task", "horizon", "seed", "sampler", "steps", "precision", "methods",
                 "policies")


@dataclass
class PolicyEvalConfig:
    """One policy evaluation (YAML/TOML keys of the same names; relative paths from the file's folder)::

        checkpoint: pusher-64          # a shipped model's name or a freeaction checkpoint folder
        world: 1                       # the pusher world the scenes come from (1, 2 or 3), or arm / arm-2
                                       #   (the arm simulator's worlds; needs the arm extra and a 7-D model),
                                       #   or auto: the world the checkpoint's shipped.json names
        task: push                     # pusher: push (a named block into a goal disc) | reach (the effector);
                                       #   arm: reach (above the red cube) | lift (the red cube)
        horizon: 3                     # chunks per episode (a chunk = the model's window, 7 steps); default:
                                       #   the scene env's (pusher: 3 chunks at 10 frames/s, 6 in world 3; arm: 4)
        episodes: 30                   # per policy; scene e has seed ``seed + e``
        sim_episodes: 30               # per policy in the simulator alone (>= episodes; default: episodes),
                                       #   a cheaper, tighter reference success rate
        seed: 0
        sampler: ddim                  # default: what the checkpoint recommends
        steps: 10
        precision: fp32                # fp32 | bf16 (autocast: the DiT and the VAE's decoder)
        batch_size: 16                 # world-model episodes per sampler call
        threads: 1                     # torch's CPU threads for the run (default: torch's, one per core)
        methods: [unguided, freeaction]
        policies: [expert, bc-50, {name: mine, factory: "my_module:make_policy", kwargs: {gain: 2}},
                   {name: my-bc, factory: runs/my-bc}]   # a train-policy folder, relative to this file
        out: results/policy-eval
        bootstrap: {resamples: 10000, confidence: 0.95, seed: 0}
    """

    checkpoint: str = "pusher-64"
    vae: str | None = None
    world: int | str = 1
    task: str = "push"
    horizon: int | None = None
    episodes: int = 30
    sim_episodes: int | None = None
    seed: int = 0
    sampler: str | None = None
    steps: int | None = None
    precision: str = "fp32"
    device: str = "cpu"
    batch_size: int = 16
    threads: int | None = None
    methods: list[Any] = field(default_factory=lambda: ["unguided", "freeaction"])
    policies: list[Any] = field(default_factory=lambda: ["expert", "noisy", "aim-off", "timid", "distracted",
                                                         "fast", "sloppy", "delayed"])
    out: str = "policy_eval_results"
    bootstrap: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path) -> PolicyEvalConfig:
        data = read_mapping(path)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{path}: unknown key(s) {unknown}; known: {sorted(known)}")
        base = Path(path).resolve().parent
        for key in ("vae", "out"):
            if data.get(key) is not None and not Path(str(data[key])).is_absolute():
                data[key] = str((base / str(data[key])).resolve())
        ckpt = data.get("checkpoint")
        if ckpt and (base / str(ckpt)).exists():
            data["checkpoint"] = str((base / str(ckpt)).resolve())
        if isinstance(data.get("policies"), list):
            data["policies"] = [policy_folder_from(base, p) for p in data["policies"]]
        return cls(**data)

    def resolved_world(self) -> int | str:
        """``world``, with ``auto`` replaced by the world the checkpoint's ``shipped.json`` names
        (pusher world N -> N, arm world 1 -> ``arm``, arm world N > 1 -> ``arm-N``)."""
        if self.world != "auto":
            return self.world
        scene = scene_of(self.checkpoint)
        if scene is None:
            raise InputError(f"world: auto needs a checkpoint with a shipped.json (a shipped model, or a folder "
                             f"written by --ship); {self.checkpoint} has none: name the world (1, 2, arm or "
                             f"arm-N)")
        simulator, world = scene
        return world if simulator == "pusher" else ("arm" if world == 1 else f"arm-{world}")

    def scene_world(self) -> tuple[str, int]:
        """``world`` as (simulator, world number): 1, 2 and 3 are the pusher's, ``arm`` and ``arm-N`` the arm's,
        ``auto`` the checkpoint's (:meth:`resolved_world`)."""
        world = self.resolved_world()
        arm_names = {"arm": 1, **{f"arm-{n}": n for n in ARM_WORLDS}}
        if isinstance(world, str) and world in arm_names:
            return "arm", arm_names[world]
        if isinstance(world, int) and not isinstance(world, bool) and world in PUSHER_WORLDS:
            return "pusher", int(world)
        numbered = " / ".join(f"arm-{n}" for n in ARM_WORLDS if n > 1)
        pusher = ", ".join(str(n) for n in sorted(PUSHER_WORLDS))
        raise InputError(f"world must be {pusher} (the pusher's), arm / {numbered} (the arm's) or auto (the "
                         f"checkpoint's), got {world!r}")

    def resolved_horizon(self) -> int:
        """``horizon``, or where unset the scene env's default (:func:`freeaction.envs.scene_horizon`)."""
        return self.horizon if self.horizon is not None else scene_horizon(*self.scene_world())

    def method_objects(self) -> list[Method]:
        out = []
        for m in self.methods:
            try:
                out.append(STANDARD_METHODS[m] if isinstance(m, str) else Method.from_dict(dict(m)))
            except (KeyError, ValueError) as exc:
                raise InputError(f"method {m!r}: {exc}; standard names: {sorted(STANDARD_METHODS)}") from exc
        if len({m.name for m in out}) != len(out) or SIM in {m.name for m in out}:
            raise InputError(f"method names must be distinct and not {SIM!r}: {[m.name for m in out]}")
        return out

    def policy_specs(self) -> list[dict[str, Any]]:
        """Each policy as ``{"name", "factory", "kwargs"}``."""
        out = []
        for p in self.policies:
            spec = {"name": p, "factory": p, "kwargs": {}} if isinstance(p, str) else {"kwargs": {}, **p}
            if "factory" not in spec:
                spec["factory"] = spec["name"]
            spec.setdefault("name", spec["factory"])
            out.append({"name": str(spec["name"]), "factory": str(spec["factory"]), "kwargs": dict(spec["kwargs"])})
        if len({p["name"] for p in out}) != len(out):
            raise InputError(f"policy names must be distinct: {[p['name'] for p in out]}")
        return out


def policy_folder_from(base: Path, spec: Any) -> Any:
    """A ``policies`` entry whose factory is a folder relative to the config's folder ``base`` (a BC
    policy), with that path made absolute; a bare folder path is named after the folder."""
    factory = spec if isinstance(spec, str) else spec.get("factory") if isinstance(spec, dict) else None
    if not isinstance(factory, str) or ":" in factory or not (base / factory).is_dir():
        return spec
    if factory in BUILTIN or factory in ARM_BUILTIN:  # load_factory would take the built-in
        raise InputError(f"policy factory {factory!r} is ambiguous: a built-in policy, and the folder "
                         f"{base / factory}; write './{factory}' for the folder, or rename it")
    path = str((base / factory).resolve())
    return {"name": Path(factory).name, "factory": path} if isinstance(spec, str) else {**spec, "factory": path}


def policy_seed(policy: str, episode: int) -> int:
    """The seed a policy gets for episode ``episode``, the same in every environment."""
    return int.from_bytes(hashlib.sha256(f"policy|{policy}|{episode}".encode()).digest()[:4], "little")


def episode_key(policy: str, episode: int) -> str:
    return f"{policy}/{episode:03d}"


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch CPU threads (None: leave torch's setting), then restore it."""
    before = torch.get_num_threads()
    if count is not None:
        if count < 1:
            raise InputError(f"threads must be >= 1 (or left out for torch's default), got {count}")
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def exclusive(out: Path) -> FolderLock:
    """The results folder's lock (``with exclusive(out):``): entering it while another process holds
    it raises :class:`InputError`; it dies with its process, so a killed run does not block."""
    return FolderLock(out, LOCK_FILE, "policy-eval")


def save_frames(out: Path, env: str, policy: str, episode: int, frames: np.ndarray) -> None:
    path = out / "frames" / env / policy / f"{episode:03d}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, frames=np.asarray(frames, np.uint8))
    os.replace(tmp, path)


def load_frames(out: str | Path, env: str, policy: str, episode: int) -> np.ndarray | None:
    path = Path(out) / "frames" / env / policy / f"{episode:03d}.npz"
    return np.load(path)["frames"] if path.is_file() else None


# -- the simulator side ---------------------------------------------------------------------------
def play_sim(env: PusherEnv | ArmEnv, policy: Any, scene_seed: int, seed: int) -> dict[str, Any]:
    """One episode in the simulator: frames, actions, pixel and state success."""
    obs, info = env.reset(seed=scene_seed)
    policy.reset(info["task"], seed)
    frames, actions, done = [obs], [], False
    while not done:
        chunk = np.asarray(policy.act(obs), np.float32)
        obs, _, term, trunc, step = env.step(chunk)
        frames.extend(step["frames"])
        actions.append(chunk)
        done = term or trunc
    return {"frames": np.stack(frames), "actions": np.stack(actions), "success": bool(step["success"]),
            "success_state": bool(step["success_state"]), "task": info["task"]}


def replay(env: PusherEnv | ArmEnv, scene_seed: int, actions: np.ndarray) -> dict[str, Any]:
    """The simulator's answer to a fixed action sequence (chunks, chunk, 2) from the seeded scene."""
    env.reset(seed=scene_seed)
    ee, target = [], []
    for chunk in actions:
        _, _, _, _, step = env.step(chunk)
        ee.extend(step["ee_px"])
        target.extend(step["target_px"])
    return {"ee_px": np.asarray(ee), "target_px": np.asarray(target), "success_state": bool(step["success_state"])}


def drift(frames: np.ndarray, truth: dict[str, Any], task: PusherTask | ArmTask) -> dict[str, list[float]]:
    """Per generated frame: effector and target-object distance (px) from the simulator's replay."""
    worst = float(np.hypot(*frames.shape[1:3]))
    ee_err, obj_err = [], []
    for frame, ee, obj in zip(frames[1:], truth["ee_px"], truth["target_px"], strict=True):
        found_ee, found_obj = task.locate_effector(frame), task.locate_target(frame)
        ee_err.append(worst if found_ee is None else float(np.hypot(*(found_ee - ee))))
        obj_err.append(worst if found_obj is None else float(np.hypot(*(found_obj - obj))))
    return {"ee_error": ee_err, "object_error": obj_err}


class PolicyEvaluation:
    """One run of a :class:`PolicyEvalConfig` into its results folder."""

    def __init__(self, cfg: PolicyEvalConfig, *, progress: bool = True) -> None:
        self.cfg, self.progress = cfg, progress
        self.out = Path(cfg.out)
        self.methods = cfg.method_objects()
        self.policies = cfg.policy_specs()
        self.factories = {p["name"]: load_factory(p["factory"]) for p in self.policies}
        warn_world_mismatch(self.policies, cfg.scene_world())
        self.sampler, self.steps = resolve_sampler(cfg.checkpoint, cfg.sampler, cfg.steps, ("ddpm", 50))
        self.world_model: WorldModel | None = None

    def log(self, text: str) -> None:
        if self.progress:
            print(f"policy-eval: {text}", flush=True)

    def settings(self) -> dict[str, Any]:
        c = self.cfg
        return {"checkpoint": str(c.checkpoint), "vae": c.vae, "world": c.resolved_world(), "task": c.task,
                "horizon": c.resolved_horizon(), "seed": c.seed, "sampler": self.sampler, "steps": self.steps,
                "precision": c.precision,
                "methods": [dataclasses.asdict(m) for m in self.methods], "policies": self.policies,
                "episodes": c.episodes, "sim_episodes": self.sim_episodes(), "batch_size": c.batch_size,
                "threads": c.threads, "bootstrap": c.bootstrap}

    def _write_run_file(self) -> None:
        path, now = self.out / RUN_FILE, self.settings()
        if path.is_file():
            before = json.loads(path.read_text())
            changed = [k for k in FROZEN_FIELDS if before.get(k) != now.get(k)]
            if changed:
                raise InputError(f"{self.out} holds a run made with other settings ({changed}); use another --out")
        path.write_text(json.dumps(now, indent=1, sort_keys=True))

    def policy(self, name: str, chunk: int) -> Any:
        spec = next(p for p in self.policies if p["name"] == name)
        return self.factories[name](chunk, **spec["kwargs"])

    def episodes(self, count: int | None = None) -> list[tuple[str, int]]:
        """(policy, episode) pairs: the first ``count`` (default: ``episodes``) scenes of every policy."""
        n = self.cfg.episodes if count is None else count
        return [(p["name"], e) for p in self.policies for e in range(n)]

    def sim_episodes(self) -> int:
        return max(self.cfg.sim_episodes or 0, self.cfg.episodes)

    def _load_model(self) -> WorldModel:
        if self.world_model is None:
            self.world_model = WorldModel.load(self.cfg.checkpoint, self.cfg.vae, device=self.cfg.device,
                                               precision=self.cfg.precision)
        return self.world_model

    def chunk(self) -> int:
        return self._load_model().config.num_frames - 1

    def sim_env(self) -> PusherEnv | ArmEnv:
        """The simulator env of the config's world, for the model's frame size and window."""
        simulator, world = self.cfg.scene_world()
        wm = self._load_model()
        if (simulator == "arm") != (wm.config.action_dim == 7):
            raise InputError(f"world {self.cfg.world!r} is the {simulator}'s, but {self.cfg.checkpoint} takes "
                             f"{wm.config.action_dim}-D actions")
        assert wm.frame_size is not None
        return scene_env(wm.config.action_dim, wm.frame_size, self.chunk(), world=world,
                         horizon=self.cfg.resolved_horizon(), task=self.cfg.task)

    def run_sim(self, writer: ShardWriter) -> None:
        env = self.sim_env()
        for name, e in self.episodes(self.sim_episodes()):
            key = ("episode", SIM, None, episode_key(name, e), e)
            if key in writer.done:
                continue
            t0, c0 = time.perf_counter(), time.process_time()
            ep = play_sim(env, self.policy(name, self.chunk()), self.cfg.seed + e, policy_seed(name, e))
            save_frames(self.out, SIM, name, e, ep["frames"])
            writer.append([{"kind": "episode", "protocol": SIM, "method": None, "clip": episode_key(name, e),
                            "seed": e, "policy": name, "episode": e, "scene_seed": self.cfg.seed + e,
                            "success": ep["success"], "success_state": ep["success_state"],
                            "actions": ep["actions"].tolist(), "task": ep["task"].to_dict(),
                            "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}])

    def run_method(self, method: Method, writer: ShardWriter) -> None:
        wm = self._load_model()
        chunk = self.chunk()
        pending = [(n, e) for n, e in self.episodes()
                   if ("episode", "wm", method.name, episode_key(n, e), e) not in writer.done]
        replay_env = self.sim_env()
        for i in range(0, len(pending), self.cfg.batch_size):
            batch = pending[i : i + self.cfg.batch_size]
            t0, c0 = time.perf_counter(), time.process_time()
            venv = WorldModelVectorEnv(wm, len(batch), method, self.sampler, self.steps, world=replay_env.world,
                                       horizon=self.cfg.resolved_horizon(), task=self.cfg.task)
            obs, info = venv.reset(seed=[self.cfg.seed + e for _, e in batch])
            policies = [self.policy(n, chunk) for n, _ in batch]
            for pol, task, (n, e) in zip(policies, info["task"], batch, strict=True):
                pol.reset(task, policy_seed(n, e))
            frames, actions = [obs], []
            for _ in range(venv.horizon):
                act = np.stack([np.asarray(p.act(o), np.float32) for p, o in zip(policies, obs, strict=True)])
                obs, _, _, _, step = venv.step(act)
                frames.append(step["frames"])
                actions.append(act)
            video = np.concatenate([frames[0][:, None], *frames[1:]], axis=1)  # (B, 1 + horizon * chunk, H, W, 3)
            acts = np.stack(actions, axis=1)  # (B, horizon, chunk, action_dim)
            rows = []
            for b, (n, e) in enumerate(batch):
                task = info["task"][b]
                truth = replay(replay_env, self.cfg.seed + e, acts[b])
                save_frames(self.out, method.name, n, e, video[b])
                rows.append({"kind": "episode", "protocol": "wm", "method": method.name, "clip": episode_key(n, e),
                             "seed": e, "policy": n, "episode": e, "scene_seed": self.cfg.seed + e,
                             "success": bool(step["success"][b]), "replay_success_state": truth["success_state"],
                             "actions": acts[b].tolist(), **drift(video[b], truth, task),
                             "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0})
            # per episode, the batch's share: generating, judging, replaying, measuring drift, saving frames
            seconds, cpu_seconds = (time.perf_counter() - t0) / len(batch), (time.process_time() - c0) / len(batch)
            writer.append([{**r, "seconds": seconds, "cpu_seconds": cpu_seconds} for r in rows])
            self.log(f"{method.name}: {i + len(batch)}/{len(pending)} episodes ({seconds:.1f} s each)")

    def run(self) -> Path:
        with exclusive(self.out), torch.no_grad(), torch_threads(self.cfg.threads):
            self._write_run_file()
            writer = ShardWriter(self.out)
            self.log(f"simulator: {len(self.episodes(self.sim_episodes()))} episodes")
            self.run_sim(writer)
            for method in self.methods:
                self.log(f"world model, {method.name}: {self.sampler} {self.steps} steps")
                self.run_method(method, writer)
            writer.finish()
            merge_shards(self.out)
        return self.out


def warn_world_mismatch(policies: list[dict[str, Any]], scene: tuple[str, int]) -> None:
    """Warn for every behaviour-cloned policy that learned in another pusher world than the run's scenes
    (it sees blocks it was never shown; allowed, but rarely what was meant)."""
    simulator, world = scene
    for p in policies:
        trained = bc_training_world(str(p["factory"]))
        if trained is not None and (simulator != "pusher" or trained != world):
            where = f"pusher world {world}" if simulator == "pusher" else f"the arm (world {world})"
            warnings.warn(f"policy {p['name']!r} was behaviour-cloned in pusher world {trained}, but this run's "
                          f"scenes are {where}", stacklevel=2)


def ranking(proxy: list[float | None], reference: list[float | None]) -> dict[str, float | None]:
    """Pearson r, Spearman rho and MMRV of world-model rates against simulator rates (None when a rate is missing)."""
    if any(v is None for v in proxy + reference):
        return {"pearson": None, "spearman": None, "mmrv": None}
    return {**correlations(proxy, reference), "mmrv": mmrv(proxy, reference)}


def paired_ranking_intervals(rows: list[dict[str, Any]], names: list[str], methods: list[str],
                             boot: dict[str, Any]) -> dict[str, Any]:
    """Bootstrap intervals of r and MMRV over the episodes every method and the simulator share
    (:func:`~freeaction.eval.policy_stats.ranking_bootstrap`); {} when a policy has none."""
    outcome = {(r["protocol"], r.get("method"), r["clip"]): float(r["success"]) for r in rows}
    shared = {n: sorted({r["clip"] for r in rows if r["policy"] == n and r["protocol"] == SIM
                         and all(("wm", m, r["clip"]) in outcome for m in methods)}) for n in names}
    if not methods or any(not clips for clips in shared.values()):
        return {}
    sim = {n: np.array([outcome[(SIM, None, c)] for c in shared[n]]) for n in names}
    wm = {m: {n: np.array([outcome[("wm", m, c)] for c in shared[n]]) for n in names} for m in methods}
    resamples = min(int(boot.get("resamples", RANKING_RESAMPLES)), RANKING_RESAMPLES)
    return ranking_bootstrap(sim, wm, resamples, float(boot.get("confidence", 0.95)), int(boot.get("seed", 0)))


def summarize(out: str | Path) -> dict[str, Any]:
    """results.json's content from a results folder's rows and run.json.

    ``sim``: each policy's simulator success over all its simulator episodes. Per method:
    ``wm`` (world-model success), ``sim_paired`` (simulator success on the same scenes), the ranking
    figures against ``sim_paired`` (the primary comparison: same scenes, same policy seeds) and,
    under ``vs_all_sim``, against ``sim``.
    """
    out = Path(out)
    settings = json.loads((out / RUN_FILE).read_text())
    rows = read_rows(out / "results.jsonl")
    names = [p["name"] for p in settings["policies"]]
    boot = settings.get("bootstrap") or {}
    sim = {r["clip"]: r for r in rows if r["protocol"] == SIM}
    summary: dict[str, Any] = {"settings": settings, "policies": names, "sim": {}, "methods": {}}
    for n in names:
        eps = [r for r in sim.values() if r["policy"] == n]
        summary["sim"][n] = {**rate([r["success"] for r in eps], boot),
                             "state_rate": rate([r["success_state"] for r in eps], boot)["rate"]}
    for m in [m["name"] for m in settings["methods"]]:
        wm = [r for r in rows if r["protocol"] == "wm" and r["method"] == m and r["clip"] in sim]
        if not wm:
            continue
        per_policy, paired = {}, {}
        for n in names:
            eps = [r for r in wm if r["policy"] == n]
            per_policy[n] = {**rate([r["success"] for r in eps], boot),
                             "replay_state_rate": rate([r["replay_success_state"] for r in eps])["rate"]}
            paired[n] = rate([sim[r["clip"]]["success"] for r in eps], boot)
        proxy = [per_policy[n]["rate"] for n in names]
        agree = [float(r["success"] == sim[r["clip"]]["success"]) for r in wm]
        summary["methods"][m] = {
            "wm": per_policy,
            "sim_paired": paired,
            **ranking(proxy, [paired[n]["rate"] for n in names]),
            "vs_all_sim": ranking(proxy, [summary["sim"][n]["rate"] for n in names]),
            "agreement": rate(agree, boot),
            "agreement_by_policy": {n: rate([a for a, r in zip(agree, wm, strict=True) if r["policy"] == n])["rate"]
                                    for n in names},
            "drift": {"ee_error": per_step_mean([r["ee_error"] for r in wm]),
                      "object_error": per_step_mean([r["object_error"] for r in wm])},
            "seconds_per_episode": float(np.mean([r["seconds"] for r in wm])),
        }
    summary["ranking_intervals"] = paired_ranking_intervals(rows, names, list(summary["methods"]), boot)
    summary["sim_seconds_per_episode"] = float(np.mean([r["seconds"] for r in sim.values()])) if sim else None
    return summary
