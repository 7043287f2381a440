"""The web demo in a real browser: ``python app.py`` on a free local port with the shipped models, driven by headless
Chromium (Debian's ``chromium``; playwright from PyPI pointed at it — never ``playwright install``).

Skipped, with the reason, only where no Chromium executable is installed or the ``demo`` extra is missing.
``HF_ECPE_DEMO_SCREENSHOT=docs/images/demo.png`` also saves the README's screenshot of the conversation example.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("HF_ECPE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CONVERSATION = (
    "Ann: The train was cancelled again.\nBen: Now I will miss my sister's wedding. I am so upset.\n"
    "Ann: Oh no, I am so sorry."
)
NEUTRAL = "Water boils at 100 degrees Celsius at sea level."
SERVER_START_TIMEOUT_S = 240

pytestmark = [
    pytest.mark.slow,  # a server process and a browser
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium installed (apt-get install chromium; tools/setup_env.sh does it as root)"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_url():
    pytest.importorskip("gradio", reason="the demo extra is not installed: pip install 'hf-ecpe[demo]'")
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", TOKENIZERS_PARALLELISM="false")
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--host", "127.0.0.1"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"python app.py exited with {process.returncode}:\n{process.stdout.read()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"python app.py did not answer on {url} within {SERVER_START_TIMEOUT_S} s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server_url):
    """A fresh page on the demo; every request to another host than the demo's is recorded in ``page.external``."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    host = urlparse(server_url).netloc
    external: list[str] = []
    page.on(
        "request",
        lambda request: (
            external.append(request.url)
            if urlparse(request.url).scheme in ("http", "https", "ws", "wss") and urlparse(request.url).netloc != host
            else None
        ),
    )
    page.external = external
    page.goto(server_url)
    yield page
    page.close()


def _submit(page, text: str, mode_label: str | None = None) -> str:
    """Type ``text``, optionally pick an input mode, submit; returns the rendered summary line."""
    page.locator("#ecpe-input textarea").fill(text)
    if mode_label is not None:
        page.locator("#ecpe-mode").get_by_text(mode_label, exact=True).click()
    previous = page.locator("#ecpe-summary").inner_text()
    page.locator("#ecpe-submit").click()
    summary = page.locator("#ecpe-summary .ecpe-summary")
    summary.wait_for(timeout=60_000)
    page.wait_for_function(
        "previous => document.querySelector('#ecpe-summary').innerText !== previous", arg=previous, timeout=60_000
    )
    return summary.inner_text()


def test_a_conversation_shows_its_emotion_highlighted_and_linked_to_its_causes(page):
    summary = _submit(page, CONVERSATION)
    assert "conversation of 3 utterances (speakers Ann, Ben)" in summary and "model default" in summary
    assert "emotion–cause pair" in summary

    units = page.locator("#ecpe-units")
    assert units.locator(".ecpe-speaker").all_inner_texts() == ["Ann", "Ben", "Ann"]
    emotion = units.locator("#ecpe-unit-1")
    assert "emotion" in emotion.get_attribute("data-role").split()
    # highlighted: the category's colour is painted, and its label names the category
    background = emotion.evaluate("element => getComputedStyle(element).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    category = emotion.locator(".ecpe-emotion-chip").get_attribute("data-category")
    assert category in {"sadness", "anger", "disgust", "fear", "joy", "surprise"}
    # linked: the emotion's label links to each cause unit, which says whose cause it is
    cause_links = emotion.locator(".ecpe-emotion-chip a")
    assert cause_links.count() >= 1
    for k in range(cause_links.count()):
        target = cause_links.nth(k).get_attribute("href").removeprefix("#")
        cause = units.locator(f"#{target}")
        assert "cause" in cause.get_attribute("data-role").split()
        assert cause.locator('.ecpe-cause-chip[data-cause-of="1"]').inner_text().startswith("cause of #1")
    # following a link brings its unit into focus (the :target outline)
    cause_links.last.click()
    assert page.evaluate("document.querySelector(':target')?.id") == cause_links.last.get_attribute("href")[1:]

    # the pairs table and the heatmap show the same pairs, with the category and a probability
    rows = page.locator("#ecpe-pairs tr[data-emotion]")
    table_pairs = {(row.get_attribute("data-emotion"), row.get_attribute("data-cause")) for row in rows.all()}
    assert {cause for emotion, cause in table_pairs if emotion == "1"} == {
        link.get_attribute("href").removeprefix("#ecpe-unit-") for link in cause_links.all()
    }
    assert category in page.locator('#ecpe-pairs tr[data-emotion="1"]').first.inner_text()
    marked = page.locator("#ecpe-heatmap td.ecpe-pair")
    assert {(cell.get_attribute("data-emotion"), cell.get_attribute("data-cause")) for cell in marked.all()} == (
        table_pairs
    )
    assert page.locator("#ecpe-heatmap td.ecpe-cell").count() >= 3

    if os.environ.get("HF_ECPE_DEMO_SCREENSHOT"):
        page.mouse.move(0, 0)
        page.evaluate("window.location.hash = ''; window.scrollTo(0, 0)")
        boxes = [page.locator(panel).bounding_box() for panel in ("#ecpe-pairs", "#ecpe-heatmap")]
        bottom = max(box["y"] + box["height"] for box in boxes)
        page.screenshot(
            path=os.environ["HF_ECPE_DEMO_SCREENSHOT"],
            clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 16},
            full_page=True,
        )
    assert page.external == [], f"the demo made requests off the machine: {page.external}"


def test_a_neutral_text_shows_no_pair(page):
    summary = _submit(page, NEUTRAL, mode_label="Text (split into clauses)")
    assert "Read as text" in summary and "No emotion–cause pair found." in summary
    assert page.locator("#ecpe-units .ecpe-emotion, #ecpe-units .ecpe-cause").count() == 0
    assert "No emotion–cause pair found." in page.locator("#ecpe-pairs").inner_text()
    assert page.external == []


def test_markup_in_the_input_is_shown_as_text_and_the_model_switch_works(page):
    page.locator("#ecpe-model input").click()
    page.get_by_role("option", name="a2net-minilm-en", exact=False).click()
    summary = _submit(page, "Ann: <b>I am so happy</b> ${value} {{value}}\nBen: I passed the exam!")
    assert "model a2net-minilm-en" in summary
    assert page.locator("#ecpe-units b").count() == 0
    assert "<b>I am so happy</b> ${value} {{value}}" in page.locator("#ecpe-unit-0").inner_text()
