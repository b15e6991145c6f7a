"""Regenerate the README's dashboard pictures: `python -m live.dashboard.screenshots [--out docs/img]`.

Builds (or reuses) the demo workspace, starts `python -m live.dashboard --demo` on a free loopback port, loads each
page in headless Chromium (Debian's `chromium`) and writes small palette PNGs (the top of each page).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from backtest.config import REPO_ROOT

PAGES = {"live": ("/", "entries in the window"), "autopilot": ("/autopilot", "Cycles (newest first)"),
         "research": ("/research", "Sweeps")}  # fmt: skip
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "img")
    ap.add_argument("--demo-dir", type=Path, default=REPO_ROOT / "runs" / "demo")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1300)
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (apt-get install chromium)")
        return 2
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    cmd = [sys.executable, "-m", "live.dashboard", "--demo", "--demo-dir", str(args.demo_dir), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, args=FLAGS)
            pg = b.new_page(viewport={"width": args.width, "height": args.height})
            pg.set_default_timeout(120_000)
            for name, (path, last) in PAGES.items():
                pg.goto(url + path)
                pg.get_by_text(last).first.wait_for()
                pg.wait_for_timeout(2500)  # charts finish drawing
                raw = args.out / f"dashboard_{name}.raw.png"
                pg.screenshot(path=str(raw))
                img = Image.open(raw).convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
                out = args.out / f"dashboard_{name}.png"
                img.save(out, optimize=True)
                raw.unlink()
                print(f"{out} {out.stat().st_size / 1024:.0f} KiB")
            b.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
