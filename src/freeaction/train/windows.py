"""The training data: windows of pre-encoded latents and the order the steps take them in.

    reader = open_training_data(cfg)              # the IRASim-layout split, latents only
    loader = window_loader(reader, cfg, world_size, rank, start=1000, stop=cfg.max_steps)
    g = step_generator(cfg.seed, step, rank)      # t, noise and null-condition draws of step

Exact resumption: nothing random is carried from step to step. The windows of step s are fixed
by (seed, s): a fresh permutation of the windows per epoch, walked in order by the global batch
(``batch_size * world_size`` windows per step, rank r taking the r-th slice); the draws of step
s on rank r come from a generator seeded with (seed, s, r). A run resumed at step k therefore
repeats, bit for bit on the same machine, what the uninterrupted run did after step k.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from freeaction.data.irasim import IRASimDataset
from freeaction.data.irasim_layout import is_irasim_root
from freeaction.errors import DataError
from freeaction.train.config import TrainConfig
from freeaction.training import step_seed


def open_training_data(cfg: TrainConfig, split: str | None = None) -> IRASimDataset:
    """The IRASim-layout reader of ``split`` (default the training split), loading latents."""
    if not Path(cfg.dataset).exists():
        raise DataError(f"{cfg.dataset}: no such dataset")
    if not is_irasim_root(cfg.dataset):
        raise DataError(
            f"{cfg.dataset}: training reads pre-encoded latents, which only the IRASim layout (annotation/, "
            "latent_videos/) holds; convert the dataset (`freeaction data convert`) and run `freeaction encode`"
        )
    return IRASimDataset(
        cfg.dataset, split or cfg.split, num_frames=cfg.num_frames, stride=cfg.stride, frames=False, latents=True
    )


def check_nonempty(reader: Any, cfg: TrainConfig) -> None:
    """DataError when the split has no episode or no window of ``cfg.num_frames`` frames."""
    if reader.num_episodes == 0:
        raise DataError(f"{cfg.dataset}: split {reader.split!r} has no episodes; nothing to train on")
    if len(reader) == 0:
        longest = max(reader.window_frames(i) for i in range(reader.num_episodes))
        raise DataError(
            f"{cfg.dataset}: split {reader.split!r} has no window of {cfg.num_frames} frames "
            f"({reader.num_episodes} episodes, the longest has {longest} usable frames); "
            "lower num_frames or add longer episodes"
        )


class LatentWindows(Dataset):
    """(latents (F, C, h, w), actions (F-1, A)) windows of a reader that holds latents."""

    def __init__(self, reader: Any, cache: bool = True) -> None:
        self.reader = reader
        self.num_frames = reader.num_frames
        self.cache: dict[int, tuple[torch.Tensor, np.ndarray]] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cache is None:
            clip = self.reader[k]
            return clip.latents.float(), torch.from_numpy(clip.actions)
        i, start = self.reader.windows[k]
        if i not in self.cache:
            episode = self.reader.episode(i)
            self.cache[i] = (episode.latents.float(), episode.actions)
        lat, act = self.cache[i]
        n = self.num_frames
        return lat[start : start + n], torch.from_numpy(np.ascontiguousarray(act[start : start + n - 1]))


class WindowOrder:
    """Window index at a position of the endless stream: a fresh permutation per epoch."""

    def __init__(self, num_windows: int, seed: int) -> None:
        self.n = int(num_windows)
        self.seed = int(seed)
        self._perms: dict[int, torch.Tensor] = {}

    def __call__(self, position: int) -> int:
        epoch, k = divmod(int(position), self.n)
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.pop(min(self._perms))
            g = torch.Generator().manual_seed(self.seed * 7919 + epoch)
            self._perms[epoch] = torch.randperm(self.n, generator=g)
        return int(self._perms[epoch][k])


class StepBatches:
    """Batch sampler: the local batch indices of steps ``start``..``stop - 1`` on ``rank``."""

    def __init__(self, order: WindowOrder, batch_size: int, world_size: int, rank: int, start: int, stop: int):
        self.order, self.b, self.world, self.rank = order, batch_size, world_size, rank
        self.start, self.stop = start, stop

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)

    def __iter__(self) -> Iterator[list[int]]:
        g = self.b * self.world
        for step in range(self.start, self.stop):
            base = step * g + self.rank * self.b
            yield [self.order(base + j) for j in range(self.b)]


def window_loader(reader: Any, cfg: TrainConfig, world_size: int, rank: int, start: int, stop: int,
                  pin_memory: bool = False) -> DataLoader:
    """The DataLoader of steps ``start``..``stop - 1`` on ``rank``: one local batch of
    (latents (B, F, C, h, w), actions (B, F-1, A)) per step."""
    data = LatentWindows(reader, cache=cfg.cache_latents)
    batches = StepBatches(WindowOrder(len(data), cfg.seed), cfg.batch_size, world_size, rank, start, stop)
    return DataLoader(data, batch_sampler=batches, num_workers=cfg.num_workers,
                      persistent_workers=False, pin_memory=pin_memory)


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The generator of step ``step`` on ``rank``: t, noise and null-condition draws."""
    return torch.Generator().manual_seed(step_seed(seed, step) * 1024 + int(rank))
