"""Action adherence: a small inverse-dynamics CNN that reads the action back out of a video.

``train_idm(dataset)`` fits a CNN that predicts the model-space action ``a_k`` from frames
``k`` and ``k + 1`` on a dataset's real training episodes. Its error on *generated* videos is
the adherence metric ("does the video follow the trajectory?"): a video that ignores its
actions, or moves the wrong way, reads back wrong actions. Its error on the *real* test clips
is the floor a perfect world model would reach (the network's own error), and is reported
beside it.

Metric: ``idm_error`` = mean absolute error in model-space units over the n transitions of a
clip and the action dimensions (frame 0 -> 1 uses the given context frame, as generation does).

The network is stored as one ``.safetensors`` file whose metadata holds its configuration and
the action normalisation, so loading it never unpickles anything.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from freeaction.data.video import resize_frames
from freeaction.errors import DataError, InputError
from freeaction.files import atomic_path

FORMAT = "freeaction-idm/1"


@dataclass
class IDMConfig:
    """Architecture and input size of the inverse-dynamics network."""

    action_dim: int = 2
    size: tuple[int, int] = (64, 64)  # frames are resized to (H, W) first
    width: int = 32


class IDMNet(nn.Module):
    """Frames k, k+1 and their difference (9 channels) -> 4 stride-2 convs -> pooled -> action."""

    def __init__(self, config: IDMConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        chans = [9, w, 2 * w, 4 * w, 4 * w]
        layers: list[nn.Module] = []
        for cin, cout in zip(chans[:-1], chans[1:], strict=True):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.GroupNorm(4, cout), nn.SiLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(4 * w, 4 * w), nn.SiLU(), nn.Linear(4 * w, config.action_dim))
        self.register_buffer("action_mean", torch.zeros(config.action_dim))
        self.register_buffer("action_std", torch.ones(config.action_dim))

    def forward(self, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        """uint8-valued (B, 3, H, W) frame pairs -> normalised action predictions (B, D)."""
        a, b = before.float() / 127.5 - 1, after.float() / 127.5 - 1
        h = self.features(torch.cat([a, b, b - a], dim=1))
        return self.head(h.mean(dim=(2, 3)))

    def predict(self, frames: np.ndarray) -> np.ndarray:
        """RGB uint8 (n + 1, H, W, 3) -> predicted model-space actions (n, D)."""
        x = torch.from_numpy(np.ascontiguousarray(resize_frames(np.asarray(frames), self.config.size)))
        x = x.permute(0, 3, 1, 2).to(self.action_mean.device)
        with torch.no_grad():
            out = self(x[:-1], x[1:])
        return (out * self.action_std + self.action_mean).cpu().numpy()

    def error(self, frames: np.ndarray, actions: np.ndarray) -> float:
        """``idm_error`` of one clip: mean |predicted - true| action (model space)."""
        actions = np.asarray(actions, dtype=np.float32)
        if actions.shape != (len(frames) - 1, self.config.action_dim):
            raise InputError(
                f"inverse-dynamics model takes {self.config.action_dim}-D actions for {len(frames) - 1} "
                f"transitions; got actions of shape {actions.shape}"
            )
        return float(np.abs(self.predict(frames) - actions).mean())


def save_idm(net: IDMNet, path: str | os.PathLike[str], info: dict[str, Any] | None = None) -> Path:
    """Write the network and its config (+ ``info``: training facts) to one ``.safetensors`` file."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "config": json.dumps(asdict(net.config)), "info": json.dumps(info or {})}
    state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return path


def load_idm(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> IDMNet:
    """An inverse-dynamics network written by :func:`save_idm` (``freeaction eval train-idm``)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"inverse-dynamics model not found: {path} (make one with `freeaction eval train-idm DATASET`)"
        )
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise InputError(f"{path}: not a safetensors file ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise InputError(f"{path}: not an inverse-dynamics model (format {meta.get('format')!r}, expected {FORMAT})")
    cfg = json.loads(meta["config"])
    net = IDMNet(IDMConfig(action_dim=int(cfg["action_dim"]), size=tuple(cfg["size"]), width=int(cfg["width"])))
    net.load_state_dict(state)
    net.info = json.loads(meta.get("info", "{}"))
    return net.to(device).eval()


def _load_pairs(root: str | Path, split: str, size: tuple[int, int], max_episodes: int | None) -> tuple:
    """All (frame_k, frame_k+1, a_k) of a split's episodes, frames resized: uint8 (N, 3, H, W) x2, (N, D)."""
    from freeaction.data import open_dataset

    ds = open_dataset(root, split, frames=True, latents=False)
    before, after, acts = [], [], []
    for i in range(min(ds.num_episodes, max_episodes or ds.num_episodes)):
        ep = ds.episode(i)
        f = torch.from_numpy(resize_frames(ep.frames, size)).permute(0, 3, 1, 2)
        before.append(f[:-1])
        after.append(f[1:])
        acts.append(torch.from_numpy(ep.actions))
    if not acts:
        raise DataError(f"{root}: split {split!r} has no episodes to train the inverse-dynamics model on")
    return torch.cat(before), torch.cat(after), torch.cat(acts).float()


def _mae(net: IDMNet, before: torch.Tensor, after: torch.Tensor, acts: torch.Tensor, batch: int = 256) -> float:
    net.eval()
    errs = []
    with torch.no_grad():
        for i in range(0, len(acts), batch):
            dev = net.action_mean.device
            pred = net(before[i : i + batch].to(dev), after[i : i + batch].to(dev)) * net.action_std + net.action_mean
            errs.append((pred.cpu() - acts[i : i + batch]).abs())
    return float(torch.cat(errs).mean())


def train_idm(
    dataset: str | Path,
    out: str | Path,
    *,
    train_split: str = "train",
    test_split: str | None = "test",
    size: tuple[int, int] = (64, 64),
    width: int = 32,
    steps: int = 2000,
    batch_size: int = 64,
    lr: float = 1e-3,
    max_episodes: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Train an inverse-dynamics network on ``dataset``'s real clips and save it to ``out``.

    Returns ``{"path", "train_error", "test_error", "steps", "pairs", "seconds"}``; the test
    error (mean |a_hat - a|, model space, on the real ``test_split`` episodes) is the floor of
    the ``idm_error`` metric and is also stored in the file.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    torch.manual_seed(seed)
    before, after, acts = _load_pairs(dataset, train_split, size, max_episodes)
    net = IDMNet(IDMConfig(action_dim=acts.shape[1], size=tuple(size), width=width)).to(device)
    net.action_mean.copy_(acts.mean(0))
    net.action_std.copy_(acts.std(0).clamp_min(1e-6))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    g = torch.Generator().manual_seed(seed)
    target = (acts - net.action_mean.cpu()) / net.action_std.cpu()
    bar = tqdm(range(steps), desc="train-idm", disable=not progress)
    for _ in bar:
        net.train()
        idx = torch.randint(len(acts), (batch_size,), generator=g)
        b, a = before[idx].to(device), after[idx].to(device)
        if torch.rand((), generator=g) < 0.5:  # horizontal flips would change the action: only brightness jitter
            scale = 0.8 + 0.4 * torch.rand((), generator=g)
            b, a = (b.float() * scale).clamp(0, 255), (a.float() * scale).clamp(0, 255)
        loss = F.smooth_l1_loss(net(b, a), target[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    info: dict[str, Any] = {
        "dataset": str(dataset),
        "train_split": train_split,
        "steps": steps,
        "pairs": len(acts),
        "train_error": _mae(net, before, after, acts),
    }
    if test_split:
        from freeaction.data import list_splits

        if test_split in list_splits(dataset):
            info["test_split"] = test_split
            info["test_error"] = _mae(net, *_load_pairs(dataset, test_split, size, max_episodes))
    save_idm(net, out, info)
    return {"path": str(out), **info, "seconds": time.perf_counter() - start}
