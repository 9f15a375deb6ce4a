"""Fréchet distance against scipy's matrix square root; FVD/FID networks only from local files."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from freeaction.errors import InputError
from freeaction.eval.frechet import FeatureExtractor, frechet_distance


def scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


@pytest.mark.parametrize("dim", [3, 16])
def test_frechet_distance_matches_scipy(dim):
    rng = np.random.default_rng(dim)
    a = rng.normal(size=(200, dim))
    b = rng.normal(size=(150, dim)) @ rng.normal(size=(dim, dim)) * 0.5 + 1.0
    assert frechet_distance(a, b) == pytest.approx(scipy_frechet(a, b), rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 4))
    assert frechet_distance(a, a + 3.0) == pytest.approx(4 * 9.0, rel=1e-9)


class _Video(torch.nn.Module):
    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = True, return_features: bool = True):
        return torch.stack([x.mean(dim=(1, 2, 3, 4)), x.std(dim=(1, 2, 3, 4))], dim=1)


class _Image(torch.nn.Module):
    def forward(self, x: torch.Tensor, return_features: bool = True):
        return x.mean(dim=(2, 3))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_feature_extractors_load_torchscript_and_refuse_what_they_cannot_load(tmp_path):
    torch.jit.save(torch.jit.script(_Video()), str(tmp_path / "i3d.pt"))
    torch.jit.save(torch.jit.script(_Image()), str(tmp_path / "inception.pt"))
    frames = np.zeros((16, 8, 8, 3), np.uint8)
    frames[:, :, :, 0] = 255
    fvd = FeatureExtractor(tmp_path / "i3d.pt", "fvd")(frames)
    assert fvd.shape == (1, 2)
    fid = FeatureExtractor(tmp_path / "inception.pt", "fid")(frames)
    assert fid.shape == (15, 3) and np.allclose(fid[:, 0], 255)  # frames 1..15, uint8-valued input
    with pytest.raises(InputError, match="not found.*nothing is downloaded"):
        FeatureExtractor(tmp_path / "absent.pt", "fvd")
    (tmp_path / "w.safetensors").write_bytes(b"x")
    with pytest.raises(InputError, match="TorchScript"):
        FeatureExtractor(tmp_path / "w.safetensors", "fid")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(InputError, match="not a TorchScript"):
        FeatureExtractor(tmp_path / "junk.pt", "fvd")
