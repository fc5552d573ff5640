"""The window sizes and colour schemes the page is checked and photographed at (a phone, a tablet, a desktop; light
and dark), set through Chromium's DevTools protocol. Shared by the layout tests and ``scripts/page_screenshots.py``."""
from __future__ import annotations

SIZES = {'phone': (390, 844), 'tablet': (768, 1024), 'desktop': (1400, 900)}
SCHEMES = ('light', 'dark')


def emulate(driver, width: int, height: int, scheme: str) -> None:
    """The window's size and the system's colour scheme, as a phone, tablet or desktop of that size shows the page."""
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {'width': width, 'height': height,
                                                                  'deviceScaleFactor': 1, 'mobile': width < 600})
    driver.execute_cdp_cmd('Emulation.setEmulatedMedia', {'features': [{'name': 'prefers-color-scheme',
                                                                        'value': scheme}]})


def stop_emulating(driver) -> None:
    driver.execute_cdp_cmd('Emulation.clearDeviceMetricsOverride', {})
    driver.execute_cdp_cmd('Emulation.setEmulatedMedia', {'features': []})


def images_loaded(driver) -> bool:
    """Every image of the page loaded (or failed): what a screenshot shows is what stays."""
    return driver.execute_script('return [...document.images].every((i) => !i.getAttribute("src") || i.complete)')
