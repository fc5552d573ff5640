"""The gallery in a real browser (issue 30, point 4): 35 results load as small thumbnails (under 2 MB in all), the
size of the results is shown against the disk's free space, and an entry opens in a viewer (before/after as the
photo tab's, Download, Delete into ``.trash``, Escape or Close to go back) instead of downloading."""
import re
from urllib.parse import quote

import pytest

from tests.serve.test_app import wait_for
from tests.serve.test_gallery import grainy
from tests.support.browser import wait_until
from tests.support.page import by_id, open_page, open_photo, set_value
from tests.support.serve import start_server

pytestmark = pytest.mark.slow  # drives a headless browser

RESULTS = 35


@pytest.fixture(scope='module')
def served(checkpoint, tmp_path_factory):
    """A server of its own: its gallery holds only what these tests made."""
    server = start_server(checkpoint, tmp_path_factory.mktemp('gallery'))
    yield server
    server.stop()


@pytest.fixture(scope='module')
def made(served, tmp_path_factory):
    """35 results of one batch of 35 photos with no face (no network), each 640x480 and grainy (about 0.5 MB)."""
    folder = tmp_path_factory.mktemp('scenes')
    batch = served.json('POST', '/api/batches')['id']
    for i in range(RESULTS):
        path = grainy(folder / f'scene {i:02d}.png', 320, 240, seed=100 + i)
        served.json('POST', f'/api/batches/{batch}/files?name={quote(path.name)}', path.read_bytes())
    job = served.json('POST', f'/api/batches/{batch}/start', {})
    assert served.wait_job(job['id'])['state'] == 'done'
    wait_for(lambda: len(list((served.results / 'final_results').glob('scene *.png'))) == RESULTS)
    return served


def gallery_loaded(driver, count: int) -> bool:
    return driver.execute_script("""
        const images = [...document.querySelectorAll('#gallery img')];
        return images.length === arguments[0] && images.every((i) => i.complete && i.naturalWidth > 0);""", count)


def test_a_gallery_of_35_results_loads_under_2_mb(browser, made):
    open_page(browser, made)
    browser.execute_script("document.getElementById('gallery-panel').scrollIntoView()")
    wait_until(browser, lambda d: gallery_loaded(d, RESULTS), 'the 35 thumbnails')
    sent = browser.execute_script("""
        return performance.getEntries().filter((e) => 'transferSize' in e)
          .reduce((sum, e) => sum + e.transferSize, 0);""")
    assert 0 < sent < 2e6, sent


def test_the_results_size_is_shown_against_the_disks_free_space(browser, made):
    open_page(browser, made)
    wait_until(browser, lambda d: by_id(d, 'gallery-usage').text, 'the size of the results')
    text = by_id(browser, 'gallery-usage').text
    size = r'[\d.]+ [KMGT]?B'
    assert re.fullmatch(rf'{RESULTS} results, [\d.]+ MB(; {size} in \.trash)?; {size} free on this disk', text), text


def open_entry(driver, file_name: str):
    link = wait_until(driver, lambda d: d.find_elements('css selector', f'#gallery a[href*="{quote(file_name)}"]'),
                      f'the gallery entry of {file_name}')[0]
    driver.execute_script('arguments[0].scrollIntoView()', link)
    link.click()
    wait_until(driver, lambda d: d.execute_script("return document.getElementById('viewer').open"), 'the viewer')


def shown(driver, element_id: str) -> bool:
    return driver.execute_script("const i = document.getElementById(arguments[0]); "
                                 "return !i.hidden && i.complete && i.naturalWidth > 0", element_id)


def rect(driver, element_id: str) -> list[float]:
    return driver.execute_script("const r = document.getElementById(arguments[0]).getBoundingClientRect(); "
                                 "return [r.left, r.top, r.width, r.height]", element_id)


def test_an_entry_opens_in_a_viewer_with_before_and_after(browser, served, tmp_path):
    from selenium.webdriver import ActionChains
    from selenium.webdriver.common.keys import Keys
    photo = grainy(tmp_path / 'viewed.png', 400, 300, seed=1)
    open_page(browser, served)
    open_photo(browser, photo)
    open_entry(browser, 'viewed.png')
    wait_until(browser, lambda d: shown(d, 'viewer-before') and shown(d, 'viewer-after'), 'before and after')
    before, after = rect(browser, 'viewer-before'), rect(browser, 'viewer-after')
    assert after[2] > 100 and all(abs(a - b) < 0.5 for a, b in zip(before, after)), (before, after)
    assert '/api/gallery/source' in by_id(browser, 'viewer-before').get_attribute('src')
    set_value(browser, 'viewer-compare', '30', 'input')
    assert '30%' in by_id(browser, 'viewer-after').value_of_css_property('clip-path')
    assert by_id(browser, 'viewer-divider').get_attribute('style').find('left: 30%') >= 0
    assert not list(browser.downloads.glob('viewed*'))  # opened, not downloaded

    download = by_id(browser, 'viewer-download')
    assert download.get_attribute('download') == 'viewed.png'
    download.click()
    target = browser.downloads / 'viewed.png'
    wait_until(browser, lambda d: target.is_file() and target.stat().st_size > 0, 'the download')
    assert target.read_bytes() == (served.results / 'final_results' / 'viewed.png').read_bytes()

    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    wait_until(browser, lambda d: not d.execute_script("return document.getElementById('viewer').open"), 'Escape')
    open_entry(browser, 'viewed.png')
    by_id(browser, 'viewer-close').click()
    wait_until(browser, lambda d: not d.execute_script("return document.getElementById('viewer').open"), 'Close')


def test_a_batch_result_opens_without_a_before(browser, made):
    open_page(browser, made)
    open_entry(browser, 'scene 00.png')
    wait_until(browser, lambda d: shown(d, 'viewer-after'), 'the result')
    assert not by_id(browser, 'viewer-before').is_displayed()
    assert 'no "before"' in by_id(browser, 'viewer-note').text.lower()
    assert rect(browser, 'viewer-after')[2] > 100


def test_delete_in_the_viewer_moves_the_result_to_the_trash(browser, served, tmp_path):
    photo = grainy(tmp_path / 'unwanted.png', seed=2)
    open_page(browser, served)
    open_photo(browser, photo)
    open_entry(browser, 'unwanted.png')
    by_id(browser, 'viewer-delete').click()
    wait_until(browser, lambda d: not d.find_elements('css selector', '#gallery a[href*="unwanted.png"]')
               and not d.execute_script("return document.getElementById('viewer').open"), 'the entry to go')
    assert not (served.results / 'final_results' / 'unwanted.png').exists()
    assert list(served.results.glob('.trash/*/final_results/unwanted.png'))
    assert 'trash' in by_id(browser, 'status').text
    assert all(g['name'] != 'final_results/unwanted.png' for g in served.json('GET', '/api/gallery'))
