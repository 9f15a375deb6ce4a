"""FVD and FID: Fréchet distances between feature distributions, from user-supplied networks only.

Nothing is downloaded. The user passes the weight files:

- ``--fvd-weights I3D.pt``: a TorchScript I3D, called as StyleGAN-V's / the common
  ``i3d_torchscript.pt`` is: ``net(videos, rescale=False, resize=True, return_features=True)``
  with float videos (B, 3, T, H, W) in [-1, 1]; returns (B, F) features (400 for I3D).
- ``--fid-weights INCEPTION.pt``: a TorchScript Inception, called as StyleGAN3's
  ``inception-2015-12-05.pt`` is: ``net(images, return_features=True)`` with uint8-valued
  float images (B, 3, H, W); returns (B, 2048) pool features. FID uses generated frames 1..n.

``.pt``/``.pth``/``.pts`` files are loaded with ``torch.jit.load`` (a TorchScript archive
holds code and tensors, no pickled Python objects). A ``.safetensors`` file holds bare weights
without the network's code (and torchvision is not a dependency), so it is refused with a
message saying to export TorchScript.

The distance itself, for Gaussians fitted to two feature sets::

    d^2 = |mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from freeaction.errors import InputError

WEIGHTS_HINT = (
    "supply the network as a local TorchScript file (nothing is downloaded): e.g. StyleGAN-V's "
    "i3d_torchscript.pt for --fvd-weights, StyleGAN3's inception-2015-12-05.pt for --fid-weights"
)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to (N, F) and (M, F) features (sample covariances).

    tr((S_1 S_2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the symmetric
    matrix S_1^(1/2) S_2 S_1^(1/2), which has the same spectrum and is numerically stable.
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be (N, F) with the same F, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each feature set needs at least 2 samples for a covariance")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    mid = root_a @ s_b @ root_a
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((mid + mid.T) / 2), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * tr_sqrt)


def load_feature_network(path: str | os.PathLike[str], what: str) -> torch.jit.ScriptModule:
    """Load a TorchScript feature network from a local file; ``what`` names the option (for errors)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what}: weight file not found: {path}; {WEIGHTS_HINT}")
    if path.suffix == ".safetensors":
        raise InputError(
            f"{what}: {path} holds bare weights without the network's code; export the network to "
            f"TorchScript (torch.jit.script/trace + save) and pass that file; {WEIGHTS_HINT}"
        )
    try:
        with warnings.catch_warnings():  # torch >= 2.10 marks TorchScript deprecated; the files are TorchScript
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(str(path), map_location="cpu").eval()
    except (RuntimeError, ValueError) as exc:
        raise InputError(f"{what}: {path} is not a TorchScript archive ({exc}); {WEIGHTS_HINT}") from exc


class FeatureExtractor:
    """Feature vectors for FVD (whole videos) or FID (single frames) from a TorchScript network."""

    def __init__(self, path: str | os.PathLike[str], kind: str, device: str | torch.device = "cpu") -> None:
        if kind not in ("fvd", "fid"):
            raise ValueError(f"kind must be 'fvd' or 'fid', got {kind!r}")
        self.kind = kind
        self.path = Path(path)
        self.device = torch.device(device)
        self.net = load_feature_network(path, f"--{kind}-weights").to(self.device)

    @torch.no_grad()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """RGB uint8 (T, H, W, 3) -> (1, F) video features (FVD) or (T - 1, F) frame features (FID, frames 1..)."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device).float()
        try:
            if self.kind == "fvd":
                video = (x / 127.5 - 1.0).permute(3, 0, 1, 2)[None]  # (1, 3, T, H, W) in [-1, 1]
                out = self.net(video, rescale=False, resize=True, return_features=True)
            else:
                out = self.net(x[1:].permute(0, 3, 1, 2), return_features=True)  # uint8-valued floats
        except RuntimeError as exc:
            raise InputError(
                f"--{self.kind}-weights {self.path}: the network did not accept its input ({exc}); see "
                "freeaction.eval.frechet for the expected calling convention"
            ) from exc
        return out.detach().float().cpu().numpy().reshape(out.shape[0], -1)
