"""The status page in headless Chromium (Debian's `chromium` + `chromium-driver`, driven by
Selenium): it loads, shows the connection state, its quotes change between two DOM reads, and a
screenshot is taken."""

from __future__ import annotations

import asyncio
import shutil
import struct
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.service.conftest import ES, run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def headless_chromium() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1000,600",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def quote_row(driver: webdriver.Chrome) -> dict[str, str]:
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-stream="contract:{ES}"]')
    return {
        name: row.find_element(By.CSS_SELECTOR, "." + name).text
        for name in ("symbol", "bid", "ask", "last", "time", "updates")
    }


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_the_status_page_shows_the_state_and_live_quotes(stack, tmp_path):
    sim, conn, service = stack()
    shot = tmp_path / "status.png"

    def browse() -> tuple[str, dict, dict, str]:
        driver = headless_chromium()
        try:
            driver.set_page_load_timeout(20)
            driver.get(f"{service.url}/?contracts={ES}")
            wait = WebDriverWait(driver, 20)
            wait.until(lambda d: d.find_element(By.ID, "state").get_attribute("data-state") == "connected")
            wait.until(lambda d: quote_row(d)["updates"] not in ("", "0"))
            first = quote_row(driver)
            time.sleep(1.0)
            second = quote_row(driver)
            driver.save_screenshot(str(shot))
            readers = driver.find_element(By.ID, "readers").text
            return driver.find_element(By.ID, "state").text, first, second, readers
        finally:
            driver.quit()

    state, first, second, readers = run(conn, asyncio.to_thread(browse), timeout=90)
    assert state == "connected"
    assert first["symbol"] == "ESM5" and float(first["bid"]) < float(first["ask"])
    assert int(second["updates"]) > int(first["updates"])  # the page follows the SSE stream
    assert (second["bid"], second["ask"], second["last"], second["time"]) != (
        first["bid"],
        first["ask"],
        first["last"],
        first["time"],
    )
    assert readers == "1"  # the page's EventSource is a reader of the hub
    data = shot.read_bytes()
    width, height = png_size(data)
    assert width >= 800 and height >= 400 and len(data) > 5_000
