"""The page in a real browser: Debian's headless Chromium driven through chromium-driver by Selenium, against a real
server. Uploads a photo, moves the w slider, unticks a face, checks the before/after view, downloads the PNG and
compares it with the batch tool's; runs a two-file batch with a corrupt file; previews a video frame; shows why a
busy server refused. Screenshots go to the test's temp folder (and to $CODEFORMER_SCREENSHOTS when set).

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

from codeformer.utils.image_io import write_image
from codeformer.utils.pngtext import read_texts, without_text
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

    # the same file chosen again is uploaded again (a new photo: version 1)
    by_id(browser, 'photo-input').send_keys(str(photo_file))
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '1', 'the same file, chosen again')

    # a reload shows the gallery of earlier results, kept in the output folder
    browser.refresh()
    wait_until(browser, lambda d: d.find_elements('css selector', '#gallery a[href*="two%20faces"]'), 'the gallery')


def test_batch_page(browser, server, tmp_path):
    good, broken, notes = tmp_path / 'good.png', tmp_path / 'broken.jpg', tmp_path / 'notes.txt'
    write_image(good, two_faces()[:, :512])
    broken.write_bytes(b'\xff\xd8\xff\xe0 not really a JPEG')
    notes.write_text('not a photo')
    server.json('POST', '/api/batches')  # a script's batch (no tab id): not in this tab's job list
    open_page(browser, server)
    browser.find_element('css selector', '.tab[data-tab="batch"]').click()
    by_id(browser, 'batch-input').send_keys(f'{good}\n{notes}\n{broken}')
    wait_until(browser, lambda d: len(d.find_elements('css selector', '#batch-files li')) == 2, 'the two uploads')
    refused = [li.text for li in browser.find_elements('css selector', '#batch-refused li')]
    assert refused == ['notes.txt: not an image (a batch takes photos, or zips of them)']
    by_id(browser, 'batch-start').click()
    wait_until(browser, lambda d: by_id(d, 'batch-state').get_attribute('data-state') == 'done', 'the batch to finish')
    errors = [li.text for li in browser.find_elements('css selector', '#batch-errors li')]
    assert len(errors) == 1 and errors[0].startswith('broken.jpg: cannot decode image')
    said = by_id(browser, 'batch-state').text
    assert '1 done, 1 failed' in said and '2 of 2 files' in said
    bar = by_id(browser, 'batch-progress')
    assert float(bar.get_attribute('value')) == float(bar.get_attribute('max')) == 2
    zip_link = by_id(browser, 'batch-zip')
    assert zip_link.is_displayed() and by_id(browser, 'batch-report').is_displayed()
    with urllib.request.urlopen(zip_link.get_attribute('href')) as r, zipfile.ZipFile(io.BytesIO(r.read())) as z:
        assert 'final_results/good.png' in z.namelist() and 'report.json' in z.namelist()
    assert zip_link.get_attribute('download') == 'codeformer_results_2_files.zip'
    assert by_id(browser, 'batch-start').is_enabled()  # the same files can run again (other settings)
    assert 'Batch finished' in by_id(browser, 'status').text
    screenshot(browser, tmp_path, 'batch')
    # the job list is this tab's own, and Clear forgets its finished jobs
    assert len(browser.find_elements('css selector', '#queue li')) == 1
    by_id(browser, 'queue-clear').click()
    wait_until(browser, lambda d: not d.find_elements('css selector', '#queue li'), 'the cleared job list')


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


def small_photo(tmp_path: Path) -> Path:
    import cv2
    path = tmp_path / 'small.png'
    write_image(path, cv2.resize(two_faces(), (300, 150), interpolation=cv2.INTER_AREA))
    return path


def give_file(driver, selector: str, name: str, how: str = 'drop') -> bool:
    """Drop (or paste: ``how``) a made-up PNG called ``name`` on the element ``selector``; True if the page caught
    it."""
    return driver.execute_async_script("""
        const [selector, name, how, done] = arguments;
        const canvas = document.createElement('canvas');
        canvas.width = 96; canvas.height = 64;
        canvas.toBlob((blob) => {
          const data = new DataTransfer();
          data.items.add(new File([blob], name, { type: 'image/png' }));
          const event = how === 'drop'
            ? new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })
            : new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
          done(!document.querySelector(selector).dispatchEvent(event));
        }, 'image/png');""", selector, name, how)


def test_a_file_dropped_anywhere_is_caught(browser, server):
    open_page(browser, server)
    assert give_file(browser, 'h1', 'dropped.png')  # not on the drop box: the page still takes it
    wait_until(browser, lambda d: page_data(d, 'photoName') == 'dropped.png', 'the dropped photo')


def test_paste_and_keyboard_shortcuts(browser, server):
    from selenium.webdriver import ActionChains
    from selenium.webdriver.common.keys import Keys
    open_page(browser, server)
    assert give_file(browser, 'body', 'pasted.png', how='paste')  # Ctrl/Cmd+V with an image
    wait_until(browser, lambda d: page_data(d, 'photoName') == 'pasted.png', 'the pasted photo')
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '1', 'the first restoration')
    ActionChains(browser).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()  # restores
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '2', 'the restoration after Ctrl+Enter')
    by_id(browser, 'advanced').click()
    assert by_id(browser, 'advanced').get_attribute('open')
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()  # Escape closes
    assert not by_id(browser, 'advanced').get_attribute('open')


def fits(driver) -> dict:
    """Sideways scrolling, and every tab and control of the photo tab inside the window."""
    return driver.execute_script("""
        const width = window.innerWidth, out = [];
        const shown = [...document.querySelectorAll('.tab, #tab-photo input, #tab-photo select, #tab-photo summary,'
          + ' #tab-photo .button, #queue-summary')].filter((e) => e.offsetParent !== null);
        for (const e of shown) {
          const r = e.getBoundingClientRect();
          if (r.left < 0 || r.right > width + 0.5 || r.width === 0) out.push(e.id || e.className || e.tagName);
        }
        const controls = document.querySelector('#tab-photo .controls').getBoundingClientRect();
        const viewer = document.querySelector('#tab-photo .viewer').getBoundingClientRect();
        return { scroll: document.documentElement.scrollWidth, width, outside: out, shown: shown.length,
                 stacked: controls.bottom <= viewer.top + 1 };""")


@pytest.mark.parametrize('size', [(390, 844), (1400, 900)], ids=['phone', 'desktop'])
def test_layout_fits_the_window(browser, server, photo_file, tmp_path, size):
    width, height = size
    browser.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {'width': width, 'height': height,
                                                                   'deviceScaleFactor': 1, 'mobile': width < 600})
    try:
        open_page(browser, server)
        by_id(browser, 'photo-input').send_keys(str(photo_file))
        wait_until(browser, lambda d: page_data(d, 'photoVersion') == '1', 'the first restoration')
        by_id(browser, 'advanced').click()
        got = fits(browser)
        assert got['scroll'] <= got['width'] == width and not got['outside'] and got['shown'] >= 10, got
        assert got['stacked'] == (width < 600), got  # the controls above the photo on a phone, beside it otherwise
        screenshot(browser, tmp_path, 'serve-phone' if width < 600 else 'serve-desktop')
        for tab in ('batch', 'video'):
            browser.find_element('css selector', f'.tab[data-tab="{tab}"]').click()
            got = fits(browser)
            assert got['scroll'] <= width and not got['outside'], (tab, got)
    finally:
        browser.execute_cdp_cmd('Emulation.clearDeviceMetricsOverride', {})


def test_small_photo_is_zoomed_and_boxes_can_be_hidden(browser, server, tmp_path):
    open_page(browser, server)
    by_id(browser, 'photo-input').send_keys(str(small_photo(tmp_path)))
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '1', 'the first restoration')
    shown = browser.execute_script("return document.getElementById('photo-before').getBoundingClientRect().width")
    assert shown > 600  # fitted to the viewer, not left at its own 300 px
    by_id(browser, 'zoom').send_keys('100%')
    assert abs(browser.execute_script(
        "return document.getElementById('photo-before').getBoundingClientRect().width") - 300) < 2
    assert by_id(browser, 'boxes').is_displayed()
    by_id(browser, 'show-boxes').click()
    assert not by_id(browser, 'boxes').is_displayed()


def test_dark_theme_follows_the_system(browser, server):
    browser.execute_cdp_cmd('Emulation.setEmulatedMedia', {'features': [{'name': 'prefers-color-scheme',
                                                                         'value': 'dark'}]})
    try:
        open_page(browser, server)
        colour = browser.execute_script('return getComputedStyle(document.body).backgroundColor')
        assert sum(int(v) for v in colour[colour.index('(') + 1:-1].split(',')[:3]) < 150, colour
    finally:
        browser.execute_cdp_cmd('Emulation.setEmulatedMedia', {'features': []})


def test_two_w_values_side_by_side(browser, server, tmp_path):
    open_page(browser, server)
    by_id(browser, 'photo-input').send_keys(str(small_photo(tmp_path)))
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '1', 'the first restoration')
    by_id(browser, 'side-by-side').click()
    wait_until(browser, lambda d: page_data(d, 'sideVersion'), 'the result at the second w')
    assert by_id(browser, 'side-view').is_displayed()
    assert browser.execute_script("return document.getElementById('photo-side').naturalWidth") > 0
    assert by_id(browser, 'side-main-label').text == 'w 0.50' and by_id(browser, 'side-label').text == 'w 1.00'
    browser.execute_script("const w = document.getElementById('w2'); w.value = '0.8'; "
                           "w.dispatchEvent(new Event('change'))")
    wait_until(browser, lambda d: by_id(d, 'side-label').text == 'w 0.80', 'the second w changed')


def test_the_page_says_why_a_busy_server_refused(browser, checkpoint, tmp_path):
    """A 503 (here: the private folder full) shows on the page as the server's one line, with how long to wait."""
    from tests.serve.test_limits import noise_png
    from tests.support.serve import start_server
    served = start_server(checkpoint, tmp_path / 'full', '--max_upload_mb', '1', '--max_stored_mb', '1')
    try:
        batch = served.json('POST', '/api/batches')['id']  # a script's upload fills most of the folder
        served.json('POST', f'/api/batches/{batch}/files?name=big.png', noise_png(512, 512, 0))
        photo = tmp_path / 'more.png'
        photo.write_bytes(noise_png(400, 400, 1))
        open_page(browser, served)
        by_id(browser, 'photo-input').send_keys(str(photo))
        wait_until(browser, lambda d: 'busy' in by_id(d, 'status').text, 'the refusal')
        said = by_id(browser, 'status').text
        assert said.startswith("busy: the server's store of uploads is full") and said.endswith('(about 30 s)'), said
        assert by_id(browser, 'status').get_attribute('class') == 'error'
    finally:
        served.stop()
