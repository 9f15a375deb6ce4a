"""The README's `freeaction play` screenshot: headless Chromium steers pusher-64 for a few seconds.

    python scripts/play_screenshot.py                 # writes docs/play.png
    python scripts/play_screenshot.py --out shot.png --model arm-64

Needs the play and dev extras (Playwright) and Debian's ``chromium`` (no browser is downloaded).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from freeaction.commands.play import default_precision, simulator_of
from freeaction.pipeline import WorldModel
from freeaction.play.server import BackgroundServer, PlayApp, create_app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="pusher-64")
    p.add_argument("--seed", type=int, default=30, help="simulator scene seed")
    p.add_argument("--keys", nargs="+", default=["ArrowRight", "ArrowUp"], help="keys held in turn")
    p.add_argument("--frames", type=int, default=7, help="frames to show for each key")
    p.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "play.png"))
    args = p.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on PATH (apt-get install -y chromium)")
    precision = default_precision()
    wm = WorldModel.load(args.model, precision=precision)
    with tempfile.TemporaryDirectory() as tmp:
        play = PlayApp(wm, args.model, simulator_of(args.model), precision=precision, save_dir=Path(tmp))
        with BackgroundServer(create_app(play)) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 560})
            page.goto(url)
            page.wait_for_function("window.playState.startSeed !== null", timeout=60_000)
            page.fill("#scene-seed", str(args.seed))
            page.click("#new-scene")
            page.wait_for_function(f"window.playState.startSeed === {args.seed}", timeout=60_000)
            for key in args.keys:
                page.keyboard.down(key)
                seq = page.evaluate("window.playState.seq")
                page.wait_for_function(
                    "([seq, n]) => Object.values(window.playState.history).every("
                    "h => h.filter(f => f.key_seq === seq).length >= n)", arg=[seq, args.frames], timeout=120_000)
                page.keyboard.up(key)
            page.click("#pause")
            page.screenshot(path=args.out)
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
