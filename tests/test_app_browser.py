"""The page in a real headless Chromium (Debian's chromium + chromium-driver), driven by Selenium.

`make test` installs the two Debian packages first (`make browser`); where they
are missing the tests are skipped, saying why. Slow (a server and a browser).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import app

pytestmark = pytest.mark.slow  # a real server (and browser) per module

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# From the machine notes: without the background-networking flags Chromium keeps
# dialling Google hosts that this closed network refuses.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000")


@pytest.fixture(scope="session")
def chromium() -> None:
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -r requirements-dev.txt)")
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):  # `make test` installs them (make browser)
        pytest.skip("chromium and chromium-driver are not installed: run `make browser` (root, apt-get)")


@pytest.fixture(scope="module")
def url(gradio_cache):
    talking = app.TalkingHeadApp(app.AppSettings(max_audio_seconds=30.0))
    demo = app.build_demo(talking)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.launch(demo, talking.settings, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
               quiet=True)
    yield demo.local_url
    demo.close()
    talking.close()


@pytest.fixture
def browser(chromium):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(driver, condition, seconds: float = 60.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.1).until(condition)


def open_page(driver, url: str) -> float:
    """Navigate and wait until the Generate button is on the page; returns seconds."""
    from selenium.webdriver.common.by import By

    start = time.perf_counter()
    driver.get(url)
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#generate").is_displayed())
    return time.perf_counter() - start


def upload(driver, photo: Path, audio: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(photo.resolve()))
    driver.find_element(By.CSS_SELECTOR, "#audio input[type=file]").send_keys(str(audio.resolve()))
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#photo img")
         and not d.find_elements(By.CSS_SELECTOR, "#audio input[type=file]"))


def durations(driver, selector: str) -> list[float]:
    """Durations of the <video> elements under ``selector`` that have loaded their metadata."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' video')]"
        ".filter(v => v.readyState >= 1).map(v => v.duration);", selector)


def test_generate_in_the_browser(browser, url, capsys):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    load = open_page(browser, url)
    upload(browser, app.EXAMPLE_PHOTO, app.EXAMPLE_AUDIO)

    slider = browser.find_element(By.CSS_SELECTOR, "#smoothing input[type=range]")
    before = int(slider.get_attribute("value"))
    browser.execute_script("arguments[0].focus();", slider)
    for _ in range(2):
        slider.send_keys(Keys.ARROW_RIGHT)
    assert int(slider.get_attribute("value")) == before + 2
    number = browser.find_element(By.CSS_SELECTOR, "#smoothing input[type=number]")
    assert number.get_attribute("value") == str(before + 2)

    start = time.perf_counter()
    browser.find_element(By.CSS_SELECTOR, "#generate").click()
    wait(browser, lambda d: all(durations(d, f"#{name}") and durations(d, f"#{name}")[0] > 0
                                for name in ("render", "final")), seconds=180)
    playable = time.perf_counter() - start

    texture = browser.find_element(By.CSS_SELECTOR, "#texture img")
    assert texture.get_attribute("naturalWidth") == "1024"
    assert durations(browser, "#final")[0] == pytest.approx(8.7, abs=0.1)
    notes = browser.find_element(By.CSS_SELECTOR, "#notes").text
    assert "218 frames" in notes and f"smoothing l={before + 2}" in notes  # the slider's value reached the server
    assert browser.find_elements(By.CSS_SELECTOR, "#mesh a[download], #mesh a")

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "app_browser.png"
    browser.execute_script("window.scrollTo(0, 0);")
    height = browser.execute_script("return document.documentElement.scrollHeight;")
    browser.set_window_size(1400, height + 120)  # the whole page in one picture
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 50_000
    with capsys.disabled():
        print(f"\n[browser] page ready in {load:.2f} s; Generate -> playable video in {playable:.1f} s; "
              f"screenshot: {shot}")


def test_bad_photo_shows_a_message_and_the_page_keeps_working(browser, url, tmp_path):
    import imageio_ffmpeg
    from selenium.webdriver.common.by import By

    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((256, 256, 3), 90, np.uint8)).save(wall)
    clip = tmp_path / "hello_1.5s.m4a"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(app.EXAMPLE_AUDIO), "-t", "1.5",
                    "-c:a", "aac", str(clip)], check=True)
    open_page(browser, url)
    upload(browser, wall, clip)
    browser.find_element(By.CSS_SELECTOR, "#generate").click()
    # The toast slides in: wait until it is visible, not merely in the DOM.
    def shown(driver):
        return [t for t in driver.find_elements(By.CSS_SELECTOR, "[data-testid=toast-text]") if t.is_displayed()]

    toast = wait(browser, shown)[0]
    assert toast.text.startswith("No face found in the photo")
    assert "Traceback" not in browser.page_source

    # The same page, a good photo: the app is still serving.
    browser.find_element(By.CSS_SELECTOR, "#photo button[aria-label='Remove Image']").click()
    browser.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(app.EXAMPLE_PHOTO.resolve()))
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#photo img"))
    browser.find_element(By.CSS_SELECTOR, "#generate").click()
    wait(browser, lambda d: durations(d, "#final") and durations(d, "#final")[0] > 0, seconds=180)
    assert durations(browser, "#final")[0] == pytest.approx(1.5, abs=0.1)
