"""The report: results.json, the paper-shaped table, plots, and an HTML page that loads in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from eval_helpers import run_cli, write_config

from freeaction.report import build_report

PROBE = """
<script>
window.addEventListener('load', () => setTimeout(() => {
  const v = [...document.querySelectorAll('video')].map(
    e => e.readyState + ':' + e.videoWidth + ':' + (e.error ? e.error.code : 0));
  const i = [...document.querySelectorAll('img')].map(e => e.complete + ':' + e.naturalWidth);
  document.body.setAttribute('data-probe', JSON.stringify({videos: v, images: i}));
}, 1500));
</script>
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True, timeout=600)
        if shutil.which("chromium"):
            return shutil.which("chromium")
    pytest.skip("headless Chromium is not installed and `apt-get install -y chromium` was not possible here")


def test_results_json_and_table(finished_run):
    summary = build_report(finished_run, videos=False)
    saved = json.loads((finished_run / "results.json").read_text())
    assert saved["baseline"] == "unguided" and saved["methods"] == ["unguided", "freeaction", "cfg_null"]
    short = saved["protocols"]["short"]
    c = short["comparisons"]["freeaction"]["psnr"]
    assert c["ci_low"] <= c["diff"] <= c["ci_high"] and 0 <= c["frac_improved"] <= 1
    assert short["reference"]["idm_error"]["n_clips"] == summary["protocols"]["short"]["methods"]["unguided"][
        "psnr"]["n_clips"]
    table = (finished_run / "table.md").read_text()
    assert "| Method | PSNR↑ | SSIM↑ | Latent L2↓ | IDM error↓ | EE error (px)↓ | EE missing↓ |" in table
    assert re.search(r"\| freeaction \| [\d.]+ \([+-][\d.]+ \[[+-][\d.]+, [+-][\d.]+\], \d+% better\)", table)
    assert "| unguided (baseline) |" in table and "real video (floor / VAE ceiling)" in table
    assert "## long protocol" in table and "colour PSNR↑" in table


def test_html_page_plays_its_videos_and_shows_its_plots_in_chromium(finished_run, tmp_path):
    browser = chromium()
    assert run_cli("report", finished_run) == 0
    page = finished_run / "index.html"
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained
    videos = re.findall(r"<video src='([^']+)'", text)
    images = re.findall(r"<img src='([^']+)'", text)
    assert len(videos) >= 3 and len(images) >= 4  # best/median/worst (short + long), histograms, long curve
    assert all((finished_run / v).is_file() for v in videos + images)
    probe = finished_run / "probe.html"
    probe.write_text(text.replace("</body>", PROBE + "</body>"))
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
    dom = subprocess.run([*args, "--virtual-time-budget=6000", "--dump-dom", probe.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    found = re.search(r'data-probe="([^"]+)"', dom)
    assert found, dom[-2000:]
    state = json.loads(found.group(1).replace("&quot;", '"'))
    assert state["videos"] and all(int(v.split(":")[0]) >= 2 and int(v.split(":")[1]) > 0 and v.endswith(":0")
                                   for v in state["videos"]), state
    assert state["images"] and all(i.startswith("true:") and int(i.split(":")[1]) > 0 for i in state["images"]), state
    shot = Path(tmp_path / "report.png")
    subprocess.run([*args, "--virtual-time-budget=3000", "--window-size=1200,2400", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000
    shutil.copy(shot, finished_run / "screenshot.png")


def test_sweep_runs_through_the_runner_and_plots_each_axis(eval_workspace):
    cfg = write_config(eval_workspace / "sweep.yaml", out="sweep_out", clips=2, seeds=1, save_videos=1,
                       methods=["unguided"], sweep={"axes": ["cutoff", "negative_branch"], "cutoffs": [0.25, 0.5]})
    assert run_cli("sweep", cfg, "--no-progress") == 0
    out = eval_workspace / "sweep_out"
    summary = json.loads((out / "results.json").read_text())
    assert summary["methods"] == ["unguided", "freeaction", "cutoff=0.25", "negative_branch=null"]
    assert summary["sweep"]["plan"]["cutoff"][1]["method"] == "freeaction"
    assert (out / "plots" / "sweep_short_cutoff.png").is_file()
    assert (out / "plots" / "sweep_short_negative_branch.png").is_file()
    run = json.loads((out / "run.json").read_text())
    assert run["methods"]["negative_branch=null"]["guidance"]["negative"] == "null"


def test_page_header_shows_recorded_paths_normalised(tmp_path):
    from freeaction.report.html import render_html

    settings = {"checkpoint": "/w/configs/results/../../runs/ck", "dataset": "/w/configs/results/../../runs/data",
                "split": "test", "sampler": "ddim", "steps": 20, "seeds": [0, 1]}
    summary = {"bootstrap": {"confidence": 0.95}, "baseline": "unguided", "protocols": {},
               "run": {"settings": settings}}
    page = render_html(summary, tmp_path, [], [])
    assert "checkpoint <code>/w/runs/ck</code>, dataset <code>/w/runs/data</code> (test)" in page
    assert ".." not in page
