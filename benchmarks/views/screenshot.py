"""Regenerate docs/overview.png: the overview view in headless Chromium, one node selected.

    .venv/bin/python benchmarks/views/screenshot.py [--dataset build/ipgraph.trig] [--out docs/overview.png]

Needs Debian's chromium (/usr/bin/chromium) and the playwright package (the test extra).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from ipgraph.project import project
from ipgraph.validate import load_dataset
from ipgraph.view import write_view

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ARGS += ["--disable-sync", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("build/ipgraph.trig"))
    parser.add_argument("--out", type=Path, default=Path("docs/overview.png"))
    parser.add_argument("--select", default="CNIPA professional IP support for cutting-edge research")
    options = parser.parse_args()
    page_path = Path(tempfile.mkdtemp(prefix="ipgraph-shot-")) / "overview.html"
    write_view(project(load_dataset(options.dataset), "overview"), page_path, title="ipgraph: overview")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 860}, device_scale_factor=1)
        page.goto(page_path.as_uri())
        page.locator("body[data-ready='true']").wait_for(state="attached", timeout=60_000)
        page.locator("#search").fill(options.select)
        page.locator("#search").press("Enter")
        page.evaluate("window.ipgraph.network.fit({animation: false})")
        page.wait_for_timeout(300)
        options.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(options.out))
        browser.close()
    print(f"Wrote {options.out}")


if __name__ == "__main__":
    main()
