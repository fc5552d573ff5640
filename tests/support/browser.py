"""Debian's Chromium, headless, driven through Debian's chromium-driver by Selenium (nothing downloads a browser)."""
from __future__ import annotations

import shutil
from pathlib import Path

INSTALL = 'apt-get install -y chromium chromium-driver (Debian), then pip install -r requirements-dev.txt'


def chromium_paths() -> tuple[str | None, str | None]:
    """(browser, driver) executables, None where missing."""
    return shutil.which('chromium') or shutil.which('chromium-browser'), shutil.which('chromedriver')


def start_chromium(downloads: Path, size: str = '1400,1000'):
    """A headless Chromium session that saves downloads into ``downloads`` (the driver has ``downloads`` set)."""
    from selenium import webdriver
    browser, driver_path = chromium_paths()
    if not (browser and driver_path):
        raise RuntimeError(f'Chromium and its driver are needed: {INSTALL}')
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', f'--window-size={size}',
                '--no-first-run', '--disable-background-networking'):
        options.add_argument(arg)
    options.add_experimental_option('prefs', {'download.default_directory': str(downloads),
                                              'download.prompt_for_download': False})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    driver.execute_cdp_cmd('Browser.setDownloadBehavior', {'behavior': 'allow', 'downloadPath': str(downloads)})
    driver.downloads = downloads
    return driver


def wait_until(driver, condition, what: str, timeout: float = 90):
    """Wait for ``condition(driver)``; on timeout, an AssertionError with what the page's status line says."""
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d))
    except Exception as exc:
        status = driver.find_element('id', 'status').text
        raise AssertionError(f'waited {timeout} s for {what}; the page says: {status!r}') from exc


def page_data(driver, key: str) -> str | None:
    """``document.body.dataset[key]``: what the page sets when a step is done (``ready``, ``photoVersion``, ...)."""
    return driver.execute_script(f'return document.body.dataset.{key} || null')
