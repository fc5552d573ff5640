"""The page in a real browser: Debian's headless Chromium driven through chromium-driver by Selenium, against a real
server. Uploads a photo, moves the w slider, unticks a face, checks the before/after view, downloads the PNG and
compares it with the batch tool's; runs a two-file batch with a corrupt file; previews a video frame. Screenshots go
to the test's temp folder (and to $CODEFORMER_SCREENSHOTS when set).

Without Chromium these tests skip, saying how to install it; with CODEFORMER_REQUIRE_BROWSER=1 (as .ci/run sets)
they fail instead."""
import io
import os
import shutil
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from codeformer.serve.pngtext import read_texts, without_text
from codeformer.utils.image_io import write_image
from tests.support.browser import INSTALL, chromium_paths, page_data, start_chromium, wait_until
from tests.support.serve import two_faces

pytestmark = pytest.mark.slow  # drives a headless browser


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    if not all(chromium_paths()):
        message = f'the page tests need Chromium and its driver: {INSTALL}'
        if os.environ.get('CODEFORMER_REQUIRE_BROWSER'):
            pytest.fail(message)
        pytest.skip(message)
    driver = start_chromium(tmp_path_factory.mktemp('downloads'))
    yield driver
    driver.quit()


def screenshot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f'{name}.png'
    driver.save_screenshot(str(path))
    if os.environ.get('CODEFORMER_SCREENSHOTS'):
        shutil.copy(path, Path(os.environ['CODEFORMER_SCREENSHOTS']) / path.name)
    return path


def by_id(driver, element_id: str):
    return driver.find_element('id', element_id)


def open_page(driver, server):
    driver.get(server.url)
    wait_until(driver, lambda d: page_data(d, 'ready') == '1', 'the page to start')


def drag(driver, element, fraction: float):
    """Press the mouse on ``element``'s centre, move by ``fraction`` of its width, release: as a hand does."""
    from selenium.webdriver import ActionChains
    width = element.size['width']
    ActionChains(driver).click_and_hold(element).pause(0.1).move_by_offset(int(width * fraction / 2), 0).pause(0.1) \
        .move_by_offset(int(width * fraction / 2), 0).pause(0.1).release().perform()


def test_photo_page(browser, server, photo_file, cli_result, tmp_path):
    open_page(browser, server)
    by_id(browser, 'photo-input').send_keys(str(photo_file))
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '1', 'the first restoration')
    cards = browser.find_elements('css selector', '#faces .face')
    assert len(cards) == 2 and len(browser.find_elements('css selector', '#boxes .box')) == 2
    screenshot(browser, tmp_path, 'photo-uploaded')

    # w: dragging moves the label only; releasing restores once
    w = by_id(browser, 'w')
    drag(browser, w, -0.3)
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '2', 'the restoration after releasing w')
    moved = float(w.get_attribute('value'))
    assert moved < 0.4 and by_id(browser, 'w-value').text == f'{moved:.2f}'
    time.sleep(0.5)
    assert page_data(browser, 'photoVersion') == '2'  # one restoration for the whole drag

    # untick face 2: its box turns grey, the PNG says which faces
    cards[1].find_element('css selector', 'input.use').click()
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '3', 'the restoration without face 2')
    boxes = browser.find_elements('css selector', '#boxes .box')
    assert 'off' in boxes[1].get_attribute('class') and 'off' not in boxes[0].get_attribute('class')
    assert 'faces: 1 of 2' in by_id(browser, 'parameters').text
    assert not cards[0].find_element('css selector', 'img.after').get_attribute('hidden')
    assert cards[1].find_element('css selector', 'img.after').get_attribute('hidden')

    # before/after: the slider uncovers the restored photo from the right
    def clip():
        return browser.execute_script("return getComputedStyle(document.getElementById('photo-after')).clipPath")
    assert '50%' in clip()
    drag(browser, by_id(browser, 'compare'), -0.4)
    assert '50%' not in clip() and 'inset' in clip()
    loaded = browser.execute_script("const i = document.getElementById('photo-after'); "
                                    "return [i.complete, i.naturalWidth, i.naturalHeight]")
    assert loaded == [True, 2048, 1024]
    screenshot(browser, tmp_path, 'photo-compare')

    # both faces at w = 0.3 (typed in exactly), then download: the batch tool's result plus the parameters
    cards[1].find_element('css selector', 'input.use').click()
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '4', 'the restoration with face 2 again')
    browser.execute_script("const w = document.getElementById('w'); w.value = '0.3'; "
                           "w.dispatchEvent(new Event('change'))")
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '5', 'the restoration at w = 0.3')
    by_id(browser, 'download').click()
    target = browser.downloads / 'two faces_restored.png'
    wait_until(browser, lambda d: target.exists() and target.stat().st_size > 0, 'the download')
    png = target.read_bytes()
    assert without_text(png) == cli_result  # byte for byte, once the text chunk is left out
    assert 'same as: codeformer restore -w 0.3 -s 2' in read_texts(png)['parameters']
    screenshot(browser, tmp_path, 'serve')


def test_batch_page(browser, server, tmp_path):
    good, broken = tmp_path / 'good.png', tmp_path / 'broken.jpg'
    write_image(good, two_faces()[:, :512])
    broken.write_bytes(b'\xff\xd8\xff\xe0 not really a JPEG')
    open_page(browser, server)
    browser.find_element('css selector', '.tab[data-tab="batch"]').click()
    by_id(browser, 'batch-input').send_keys(f'{good}\n{broken}')
    wait_until(browser, lambda d: len(d.find_elements('css selector', '#batch-files li')) == 2, 'the two uploads')
    by_id(browser, 'batch-start').click()
    wait_until(browser, lambda d: by_id(d, 'batch-state').get_attribute('data-state') == 'done', 'the batch to finish')
    errors = [li.text for li in browser.find_elements('css selector', '#batch-errors li')]
    assert len(errors) == 1 and errors[0].startswith('broken.jpg: cannot decode image')
    assert '1 done, 1 failed' in by_id(browser, 'batch-state').text
    zip_link = by_id(browser, 'batch-zip')
    assert zip_link.is_displayed() and by_id(browser, 'batch-report').is_displayed()
    with urllib.request.urlopen(zip_link.get_attribute('href')) as r, zipfile.ZipFile(io.BytesIO(r.read())) as z:
        assert 'final_results/good.png' in z.namelist() and 'report.json' in z.namelist()
    screenshot(browser, tmp_path, 'batch')


def test_video_page(browser, server, tmp_path):
    from tests.video.test_loop import make_clip
    clip = tmp_path / 'clip.mp4'
    make_clip(clip, frames=10, size=128)
    open_page(browser, server)
    browser.find_element('css selector', '.tab[data-tab="video"]').click()
    by_id(browser, 'video-input').send_keys(str(clip))
    wait_until(browser, lambda d: page_data(d, 'previewFrame') == '0', 'the preview of frame 0')
    drag(browser, by_id(browser, 'video-frame'), 0.45)
    wait_until(browser, lambda d: (page_data(d, 'previewFrame') or '0') != '0', 'the preview of the chosen frame')
    frame = int(by_id(browser, 'video-frame').get_attribute('value'))
    assert frame > 0 and page_data(browser, 'previewFrame') == str(frame)
    assert browser.execute_script("return document.getElementById('video-after').naturalWidth") == 1024
    assert by_id(browser, 'video-compare').is_displayed()
    screenshot(browser, tmp_path, 'video')
