"""Open a seq2func report in headless Chromium (Debian's chromium + chromedriver, through
Selenium): wait for the plots, collect console messages and every network request, check section
ids, save a screenshot. Used by the pipeline tests."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@dataclass
class PageCheck:
    plots: int
    section_ids: set[str]
    console_errors: list[str]
    requests: list[str] = field(default_factory=list)
    seconds: float = 0.0


def open_report(report: Path, screenshot: Path, *, timeout: float = 60.0, min_plots: int = 1) -> PageCheck:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,2200",
              "--no-first-run", "--disable-background-networking", "--disable-component-update"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        t0 = time.time()
        driver.get(report.resolve().as_uri())
        plots = 0
        while time.time() - t0 < timeout:
            plots = driver.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length")
            if plots >= min_plots and driver.execute_script("return document.readyState") == "complete":
                break
            time.sleep(0.5)
        time.sleep(1.0)  # let deferred rendering settle before reading the logs
        ids = set(driver.execute_script(
            "return Array.from(document.querySelectorAll('[id^=\"s2f_\"]')).map(e => e.id)"))
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        requests = []
        for e in driver.get_log("performance"):
            msg = json.loads(e["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                requests.append(msg["params"]["request"]["url"])
        driver.save_screenshot(str(screenshot))
        return PageCheck(plots=plots, section_ids=ids, console_errors=errors, requests=requests,
                         seconds=time.time() - t0)
    finally:
        driver.quit()
