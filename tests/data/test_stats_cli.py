"""Statistics (mu_act) and the ``freeaction data`` command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

import freeaction.data.irasim as irasim_mod
import freeaction.data.video as video_mod
from freeaction.cli import main
from freeaction.data.irasim import IRASimDataset
from freeaction.data.stats import STATS_FILE, compute_stats, load_stats, mu_act_from_stats, save_stats
from freeaction.errors import DataError


def brute_force(root: Path, kind: str, dims: list[int] | None) -> list[float]:
    """m(a) of every training window, computed directly from the JSON with numpy."""
    out = []
    for f in sorted((root / "annotation/train").glob("*.json")):
        a = np.asarray(json.loads(f.read_text())["actions"]) * 20
        for s in range(0, len(a) - 15 + 0):  # IRASim counts len(actions) frames: starts 0..len-16
            w = a[s : s + 15][:, dims] if dims else a[s : s + 15]
            out.append(np.linalg.norm(w) if kind == "l2" else np.linalg.norm(w, axis=1).mean())
    return out


@pytest.mark.parametrize(("kind", "dims"), [("l2", None), ("mean_step", [1])])
def test_mu_act_matches_brute_force(lt_root: Path, kind: str, dims: list[int] | None, monkeypatch) -> None:
    def no_video(*a, **k):
        raise AssertionError("statistics must not decode videos")

    monkeypatch.setattr(irasim_mod, "read_frames", no_video)
    monkeypatch.setattr(video_mod.av, "open", no_video)
    ds = IRASimDataset(lt_root, "train", frames=False, latents=False)
    stats = compute_stats(ds, kind, dims)
    expected = brute_force(lt_root, kind, dims)
    assert stats["num_clips"] == len(expected) == 6 and stats["num_episodes"] == 3
    assert stats["mu_act"] == pytest.approx(np.mean(expected), rel=1e-5)
    assert stats["std"] == pytest.approx(np.std(expected), rel=1e-4)
    assert stats["quantiles"]["q50"] == pytest.approx(np.median(expected), rel=1e-5)
    assert sum(stats["histogram"]["counts"]) == 6 and stats["dims"] == dims and stats["magnitude"] == kind
    assert len(stats["per_dim_mean"]) == 2


def test_save_load_and_checks(lt_root: Path) -> None:
    assert load_stats(lt_root) is None
    ds = IRASimDataset(lt_root, "train", frames=False)
    stats = compute_stats(ds)
    save_stats(lt_root, stats)
    assert (lt_root / "freeaction_stats_hist.png").stat().st_size > 1000
    loaded = load_stats(lt_root)
    assert loaded["mu_act"] == stats["mu_act"] and IRASimDataset(lt_root, "train").stats["mu_act"] == stats["mu_act"]
    assert mu_act_from_stats(loaded) == stats["mu_act"]
    with pytest.raises(DataError, match="--magnitude mean_step --dims 0 1"):
        mu_act_from_stats(loaded, "mean_step", [0, 1])
    (lt_root / STATS_FILE).write_text("{not json")
    with pytest.raises(DataError, match=r"freeaction_stats.json: malformed JSON"):
        load_stats(lt_root)


def test_stats_fast_from_annotations_only(tmp_path: Path) -> None:
    """300 RT-1-style episodes of 40 states with placeholder (empty) videos: JSON only."""
    rng = np.random.default_rng(0)
    root = tmp_path / "big"
    (root / "annotation/train").mkdir(parents=True)
    (root / "videos").mkdir()
    for e in range(300):
        (root / f"videos/{e}.mp4").touch()
        ann = {
            "episode_id": str(e),
            "state": rng.normal(0, 0.3, (40, 6)).tolist(),
            "continuous_gripper_state": rng.uniform(0, 1, 40).tolist(),
            "videos": [{"video_path": f"videos/{e}.mp4"}],
        }
        (root / f"annotation/train/{e}.json").write_text(json.dumps(ann))
    t0 = time.perf_counter()
    stats = compute_stats(IRASimDataset(root, "train", frames=False))
    assert stats["num_clips"] == 300 * 25 and stats["action_dim"] == 7
    assert time.perf_counter() - t0 < 10  # ~0.5 s here; decoding videos would take minutes


def test_cli_stats_info_show_convert(lt_root: Path, tmp_path: Path, capsys) -> None:
    assert main(["data", "stats", str(lt_root), "--magnitude", "mean_step"]) == 0
    out = capsys.readouterr().out
    assert "6 clips from 3 episodes" in out and "mu_act" in out
    assert json.loads((lt_root / STATS_FILE).read_text())["magnitude"] == "mean_step"
    assert main(["data", "info", str(lt_root)]) == 0
    out = capsys.readouterr().out
    assert "irasim" in out and "3 episodes" in out and "action dim 2" in out and "32x48" in out
    assert "latents 0/3" in out and "mu_act" in out
    png = tmp_path / "grid.png"
    assert main(["data", "show", str(lt_root), "--out", str(png), "--episodes", "2", "--frames", "3"]) == 0
    assert png.stat().st_size > 500
    assert main(["data", "convert", str(lt_root), "--to", "lerobot", str(tmp_path / "lr"), "--version", "v3.0"]) == 0
    assert "wrote lerobot dataset" in capsys.readouterr().out
    assert main(["data", "info", str(tmp_path / "lr"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "lerobot" and info["splits"]["train"]["clips"] == 9


def test_cli_errors_and_skip_summary(lt_root: Path, tmp_path: Path, capsys) -> None:
    assert main(["data", "info", str(tmp_path / "nothing")]) == 2
    assert "no such dataset" in capsys.readouterr().err
    (lt_root / "annotation/train/001.json").write_text("[1, 2")
    assert main(["data", "stats", str(lt_root)]) == 2
    assert "001.json: malformed JSON" in capsys.readouterr().err
    assert main(["data", "stats", str(lt_root), "--skip-bad", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 bad item(s)" in out and "001.json" in out and "4 clips from 2 episodes" in out


def test_cli_make_dispatches_to_simulators(tmp_path: Path, monkeypatch, capsys) -> None:
    import freeaction.sim

    calls = []
    monkeypatch.setattr(
        freeaction.sim, "make_dataset", lambda kind, out, **kw: calls.append((kind, out, kw)) or {}, raising=False
    )
    assert main(["data", "make", "pusher", str(tmp_path / "p"), "--episodes", "3", "--size", "64x96"]) == 0
    assert calls == [("pusher", str(tmp_path / "p"), {"episodes": 3, "seed": 0, "workers": 2, "size": (64, 96)})]
