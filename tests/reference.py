"""The IRASim reference folder (../shared beside the clone): paths and loaders that skip when absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()
IRASIM_REF = SHARED / "reference" / "irasim"
GOLDEN_CASES = ["rt1_frame_ada", "languagetable_frame_ada", "rt1_video_ada"]


def golden_path(case: str) -> Path:
    path = IRASIM_REF / f"{case}.safetensors"
    if not path.exists():
        pytest.skip(f"IRASim golden file {path} not found: the shared reference folder is absent beside the clone")
    return path


def load_golden(case: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = golden_path(case)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    return {k: v.clone() for k, v in load_file(str(path)).items()}, meta


def golden_state_dict(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("state_dict."): v for k, v in tensors.items() if k.startswith("state_dict.")}


def golden_args(meta: dict[str, str]) -> dict:
    """IRASim's args as its config files would hold them for this fixture."""
    kwargs = json.loads(meta["constructor_kwargs"])
    ns = json.loads(meta["constructor_args_namespace"])
    h, w = kwargs["input_size"]
    return {
        "dataset": ns["dataset"],
        "extras": kwargs["extras"],
        "video_size": [h * 8, w * 8],
        "num_frames": 16,
        "learn_sigma": False,
        "final_frame_ada": ns["final_frame_ada"],
        "num_heads": kwargs["num_heads"],
    }
