"""The book as a reader meets it: built from the committed notebooks (no execution)
with Sphinx, served on 127.0.0.1 and opened page by page in headless Chromium
with every request that would leave the machine blocked and recorded."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from local_http import serving
from test_browser import SCREENSHOTS, _chromium

pytestmark = pytest.mark.slow  # see make check

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "build_book.py"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SEARCH_WORD = "SmoothGrad"  # a word of notebook 05 only
REPOSITORY = "https://github.com/example-school/mnist-viz"

_spec = importlib.util.spec_from_file_location("build_book", TOOL)
build_book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_book)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book") / "site"
    seconds = build_book.build(ROOT / "notebooks", out)
    print(f"book built in {seconds:.1f} s")
    return out


def _check_sources() -> list[str]:
    """The first line of every check cell of every notebook."""
    lines = []
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if "check" in cell.get("metadata", {}).get("tags", []):
                source = "".join(cell["source"]).strip()
                lines.append(source.splitlines()[0].strip())
    return lines


def _figures(notebook: Path) -> int:
    """The image outputs of a notebook's cells that the book shows."""
    cells = json.loads(notebook.read_text())["cells"]
    return sum(
        any(mime.startswith("image/") for mime in output.get("data", {}))
        for cell in cells
        if "remove-cell" not in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", [])
    )


def test_the_search_word_is_notebook_05s_alone():
    """The search test below means something only if the word is 05's own."""
    holders = [p.name for p in NOTEBOOKS if SEARCH_WORD in p.read_text()]
    assert holders == ["05_which_pixels_decide.ipynb"]


def test_every_notebook_is_a_page_with_its_download_and_no_check_cell(site):
    checks = _check_sources()
    assert len(checks) > 20  # the notebooks do have check cells to leave out
    for notebook in NOTEBOOKS:
        page = (site / "notebooks" / f"{notebook.stem}.html").read_text()
        assert f"_sources/notebooks/{notebook.name}" in page  # the download button
        assert (site / "_sources" / "notebooks" / notebook.name).is_file()
        text = re.sub(r"<[^>]+>", "", page)
        leaked = [line for line in checks if line in text and line.startswith("assert")]
        assert not leaked, f"check cells shown on {notebook.stem}: {leaked[:3]}"


def test_launch_buttons_only_with_a_repository(site, tmp_path):
    page = (site / "notebooks" / "01_visual_analysis_mnist.html").read_text()
    assert "mybinder" not in page and "colab.research" not in page
    launched = tmp_path / "launched"
    build_book.build(ROOT / "notebooks", launched, REPOSITORY)
    page = (launched / "notebooks" / "01_visual_analysis_mnist.html").read_text()
    assert "https://mybinder.org/v2/gh/example-school/mnist-viz/main" in page
    assert (
        "https://colab.research.google.com/github/example-school/mnist-viz/blob/main/"
        "notebooks/01_visual_analysis_mnist.ipynb"
    ) in page


def test_a_warning_fails_the_build_and_leaves_the_old_site(site, tmp_path):
    """-W: a notebook outside the table of contents is a warning, so an error."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for path in NOTEBOOKS:
        (notebooks / path.name).write_bytes(path.read_bytes())
    (notebooks / "99_stray.ipynb").write_bytes(NOTEBOOKS[0].read_bytes())
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("the previous site")
    done = subprocess.run(
        [sys.executable, str(TOOL), "--notebooks", str(notebooks), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "99_stray" in done.stderr
    assert (out / "index.html").read_text() == "the previous site"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("book-")] == []


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _offline_page(browser, left: list[str]):
    """A page whose requests beyond 127.0.0.1 are blocked and written to ``left``."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.set_default_timeout(60_000)

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return page


def test_every_page_loads_offline_with_its_images_and_the_nav_reaches_every_notebook(site, browser):
    left: list[str] = []
    pages = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if "_static" not in p.parts and "_sources" not in p.parts
    )
    assert len(pages) >= 9  # front page, five notebooks, guide, speed, search, index
    with serving(site) as base:
        page = _offline_page(browser, left)
        page.goto(f"{base}/index.html", wait_until="load")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "book-front-page.png")
        nav = page.locator("nav.bd-links a").evaluate_all("links => links.map(a => a.href)")
        for notebook in NOTEBOOKS:
            assert any(href.endswith(f"notebooks/{notebook.stem}.html") for href in nav), (
                f"{notebook.stem} is not in the navigation: {nav}"
            )
        for name in pages:
            response = page.goto(f"{base}/{name}", wait_until="load")
            assert response.ok, f"{name}: HTTP {response.status}"
            broken = page.locator("img").evaluate_all(
                "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => i.src.slice(0, 80))"
            )
            assert not broken, f"{name}: images that did not load: {broken}"
            if name.startswith("notebooks/"):
                figures = _figures(ROOT / name.replace(".html", ".ipynb"))
                shown = page.locator("img").count()
                assert shown >= figures > 0, f"{name}: {shown} images for {figures} figures"
        page.close()
    assert left == [], f"requests that left the machine: {left[:5]}"


def test_search_finds_a_word_of_notebook_05(site, browser):
    left: list[str] = []
    with serving(site) as base:
        page = _offline_page(browser, left)
        page.goto(f"{base}/search.html?q={SEARCH_WORD}", wait_until="load")
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=60_000)
        hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert any("05_which_pixels_decide" in href for href in hrefs), hrefs
        page.close()
    assert left == []
