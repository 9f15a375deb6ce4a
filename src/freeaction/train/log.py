"""What a run folder records of its progress: ``log.jsonl``, ``loss.png`` and ``train_config.yaml``.

``log.jsonl`` holds one JSON object per line: every ``log_every`` steps the mean training loss
since the previous entry, the lr, the throughput (``samples_per_s``) and the gradient norm; every
``action_check_every`` steps the action-use check (``val_loss``, ``action_ratio``, ...); and at
every start or resumption, the hardware it trains on (``event: "start"``, ``device``,
``processes``; :func:`devices_used`). A resumed run first cuts the log back to its checkpoint's
step, so the log stays continuous.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from freeaction.files import atomic_open, write_text_atomic
from freeaction.train.checkpoint import STATE_JSON, latest_checkpoint
from freeaction.train.config import TrainConfig
from freeaction.training import JsonLog

LOG_FILE = "log.jsonl"
PLOT_FILE = "loss.png"
CONFIG_FILE = "train_config.yaml"


def open_log(run: Path, start: int, cfg: TrainConfig, main: bool) -> JsonLog:
    """The run's log, cut back to ``start`` (the step the run resumes from), with the run's
    options written beside it; on processes other than the main one, a log that writes nothing."""
    if not main:
        return JsonLog(None)
    (run / CONFIG_FILE).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
    truncate_log(run, start)
    return JsonLog(run / LOG_FILE)


def hardware(device: torch.device) -> str:
    """What a run trains on, in words: ``cpu``, or ``cuda (<the GPU's name>)``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def start_entry(step: int, device: torch.device, processes: int) -> dict[str, Any]:
    """The log entry a run writes when it starts or resumes at ``step``."""
    return {"step": step, "event": "start", "device": hardware(device), "processes": processes}


def devices_used(run: Path, up_to_step: int | None = None) -> list[str]:
    """The hardware the run's steps up to ``up_to_step`` were trained on, in the order first used,
    as ``"<device> x <processes>"`` (a run may resume on other hardware); empty for a log from
    before the start entries."""
    seen: list[str] = []
    for e in read_log(run):
        if e.get("event") == "start" and (up_to_step is None or e["step"] < up_to_step):
            what = f"{e['device']} x {e.get('processes', 1)}"
            if what not in seen:
                seen.append(what)
    return seen


class LossMeter:
    """The training loss and throughput since the previous log entry."""

    def __init__(self, device: torch.device, step: int, global_batch: int) -> None:
        self.loss_sum, self.n = torch.zeros((), device=device), 0
        self.t_mark, self.step_mark = time.perf_counter(), step
        self.global_batch = global_batch

    def add(self, loss: torch.Tensor) -> None:
        self.loss_sum += loss.detach()
        self.n += 1

    def entry(self, step: int, lr: float, grad_norm: torch.Tensor | None, accelerator: Any) -> dict[str, Any]:
        """The log entry of ``step`` (loss averaged over the steps and the processes); starts a new interval."""
        mean_loss = accelerator.reduce(self.loss_sum / self.n, reduction="mean").item()
        now = time.perf_counter()
        sps = (step - self.step_mark) * self.global_batch / max(now - self.t_mark, 1e-9)
        entry = {"step": step, "loss": mean_loss, "lr": lr, "samples_per_s": sps}
        if grad_norm is not None:
            entry["grad_norm"] = float(grad_norm)
        self.loss_sum.zero_()
        self.n, self.t_mark, self.step_mark = 0, now, step
        return entry


def read_log(run: Path) -> list[dict[str, Any]]:
    """The entries of ``run/log.jsonl`` (a line cut short by a crash is skipped)."""
    path = Path(run) / LOG_FILE
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))
    return out


def truncate_log(run: Path, step: int) -> None:
    """Keep only the log entries up to ``step`` (a resumed run rewrites what came after)."""
    entries = [e for e in read_log(run) if e.get("step", 0) <= step]
    path = Path(run) / LOG_FILE
    write_text_atomic(path, "".join(json.dumps(e) + "\n" for e in entries))


def train_seconds(run: Path, up_to_step: int | None = None) -> float:
    """Wall time of the optimizer steps up to ``up_to_step``, summed from the log's throughput
    (each entry covers the steps since the previous one); resumptions and pauses between
    sessions do not count, evaluation and checkpoint writing inside an interval do."""
    cfg_file = Path(run) / CONFIG_FILE
    batch = int(yaml.safe_load(cfg_file.read_text(encoding="utf-8"))["batch_size"]) if cfg_file.is_file() else 1
    latest = latest_checkpoint(Path(run))
    world = 1
    if latest is not None:
        with contextlib.suppress(OSError, ValueError):
            world = int(json.loads((latest / STATE_JSON).read_text(encoding="utf-8")).get("world_size", 1))
    total, prev = 0.0, 0
    for e in read_log(run):
        if "samples_per_s" not in e or (up_to_step is not None and e["step"] > up_to_step):
            continue
        total += (e["step"] - prev) * batch * world / max(float(e["samples_per_s"]), 1e-9)
        prev = e["step"]
    return total


def plot_log(run: Path, out: Path | None = None) -> Path | None:
    """Loss curve (log scale, with a running mean) and the action ratio on a second axis."""
    entries = read_log(run)
    train = [e for e in entries if "loss" in e]
    checks = [e for e in entries if "action_ratio" in e]
    if not train and not checks:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        steps = np.array([e["step"] for e in train])
        loss = np.array([e["loss"] for e in train])
        ax.plot(steps, loss, color="#4c72b0", alpha=0.35, lw=1, label="train loss")
        k = max(1, len(loss) // 30)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1 :], smooth, color="#4c72b0", lw=2, label=f"running mean ({k})")
    if checks:
        ax.plot([e["step"] for e in checks], [e["val_loss"] for e in checks], "o-", color="#55a868",
                ms=3, label="val loss (true actions)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("epsilon MSE")
    lines, labels = ax.get_legend_handles_labels()
    if checks:
        lines, labels = _plot_action_ratios(ax, checks, lines, labels)
    ax.legend(lines, labels, loc="upper right", fontsize=8)
    ax.set_title(Path(run).name)
    fig.tight_layout()
    out = out or Path(run) / PLOT_FILE
    with atomic_open(out) as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return out


def _plot_action_ratios(ax: Any, checks: list[dict[str, Any]], lines: list[Any],
                        labels: list[str]) -> tuple[list[Any], list[str]]:
    """The action ratios on a second y axis of ``ax``; returns the legend entries of both axes."""
    ax2 = ax.twinx()
    ax2.plot([e["step"] for e in checks], [e["action_ratio"] for e in checks], "s-", color="#c44e52",
             ms=3, label="action ratio (shuffled / true)")
    moving = [e for e in checks if "action_ratio_moving" in e]
    if moving:
        ax2.plot([e["step"] for e in moving], [e["action_ratio_moving"] for e in moving], "^-", color="#dd8452",
                 ms=3, label="action ratio, moving cells")
    ax2.axhline(1.0, color="#c44e52", ls=":", lw=1)
    ax2.set_ylabel("loss ratio, shuffled / true actions")
    l2, lb2 = ax2.get_legend_handles_labels()
    return lines + l2, labels + lb2
