"""The page in a real browser: Debian's headless Chromium driven through chromium-driver by Selenium, against a real
server. Uploads a photo, moves the w slider, unticks a face, checks the before/after view, downloads the PNG and
compares it with the batch tool's; runs a two-file batch with a corrupt file; previews a video frame; shows why a
busy server refused. Screenshots go to the test's temp folder (and to $CODEFORMER_SCREENSHOTS when set).

Without Chromium these tests skip, saying how to install it; with CODEFORMER_REQUIRE_BROWSER=1 (as .ci/run sets)
they fail instead."""
import io
import json
import time
import urllib.request
import zipfile

import pytest

from codeformer.utils.image_io import write_image
from codeformer.utils.pngtext import read_texts, without_text
from tests.support.browser import page_data, wait_until
from tests.support.page import (
    by_id,
    compare_geometry,
    drag,
    fetch,
    fits,
    give_file,
    job_links,
    open_page,
    open_photo,
    open_video,
    plain_photo,
    screenshot,
    set_value,
    small_photo,
    start_page_batch,
)
from tests.support.serve import two_faces

pytestmark = pytest.mark.slow  # drives a headless browser


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
    open_video(browser, server, tmp_path / 'clip.mp4')
    drag(browser, by_id(browser, 'video-frame'), 0.45)
    wait_until(browser, lambda d: (page_data(d, 'previewFrame') or '0') != '0', 'the preview of the chosen frame')
    frame = int(by_id(browser, 'video-frame').get_attribute('value'))
    assert frame > 0 and page_data(browser, 'previewFrame') == str(frame)
    assert browser.execute_script("return document.getElementById('video-after').naturalWidth") == 1024
    assert by_id(browser, 'video-compare').is_displayed()
    halves = browser.execute_script(  # the frame's before/after halves line up too, with a line at the seam
        "return ['video-before', 'video-after', 'video-divider'].map((id) => { "
        "const r = document.getElementById(id).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })")
    assert all(abs(a - b) < 0.6 for a, b in zip(halves[0], halves[1])), halves
    assert abs(halves[2][0] + halves[2][2] / 2 - (halves[1][0] + halves[1][2] / 2)) < 1.5, halves
    screenshot(browser, tmp_path, 'video')


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
    by_id(browser, 'zoom').send_keys('100%')  # one CSS pixel per pixel of the result (2x the 300 px input, or more)
    shown, result = browser.execute_script(
        "return [document.getElementById('photo-before').getBoundingClientRect().width, "
        "document.getElementById('photo-after').naturalWidth]")
    assert result >= 600 and abs(shown - result) < 2, (shown, result)
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


# -- the second trial (issue 30): before/after sizes, zoom of the result, wrong files, accessibility --------------


@pytest.mark.parametrize('size', [(240, 180), (200, 200), (180, 240), (144, 256)],
                         ids=['4:3', '1:1', '3:4', '9:16'])
def test_before_and_after_halves_are_the_same_size(browser, server, tmp_path, size):
    """Issue 30, point 1: the restored half was capped at 70vh while the original was not, so the two halves of
    the view did not line up; and nothing marked the seam. At Fit, 100 % and 200 %, for wide, square, portrait and
    tall photos, both halves now cover the same rectangle and a divider sits at the split."""
    open_page(browser, server)
    open_photo(browser, plain_photo(tmp_path, f'plain {size[0]}x{size[1]}.png', *size))
    for zoom in ('fit', '1', '2'):
        set_value(browser, 'zoom', zoom)
        got = compare_geometry(browser)
        assert all(abs(a - b) < 0.6 for a, b in zip(got['before'], got['after'])), (zoom, got)
        assert got['after'][3] > 0, (zoom, got)
        for split in ('50', '30'):
            set_value(browser, 'compare', split, 'input')
            got = compare_geometry(browser)
            assert got['divider'] is not None, 'no divider at the split'
            left, top, width, height = got['after']
            middle = got['divider'][0] + got['divider'][2] / 2
            assert abs(middle - (left + width * int(split) / 100)) < 1.5, (zoom, split, got)
            assert abs(got['divider'][1] - top) < 1 and abs(got['divider'][3] - height) < 1, (zoom, split, got)
            assert 0 < got['divider'][2] <= 6, got
    screenshot(browser, tmp_path, f'compare-{size[0]}x{size[1]}')


def test_zoom_percent_is_of_the_result(browser, server, tmp_path):
    """Issue 30, point 6: "100 %" showed the input's pixels, so the 2x result looked smaller than at Fit. Now 100 %
    is one pixel of the result per CSS pixel, 200 % two."""
    open_page(browser, server)
    open_photo(browser, plain_photo(tmp_path, 'zoomed.png', 240, 180))
    for zoom, factor in (('1', 1), ('2', 2)):
        set_value(browser, 'zoom', zoom)
        got = compare_geometry(browser)
        width, height = got['natural']
        assert width >= 480 and abs(width / height - 4 / 3) < 0.01, got  # at least 2x the input
        assert abs(got['after'][2] - factor * width) <= 1 and abs(got['after'][3] - factor * height) <= 1, (zoom, got)


def test_wrong_files_are_refused_with_a_hint(browser, server, tmp_path):
    """Issue 30, point 9: a text file on the Video tab, a text file renamed .jpg in a batch, a video on the Photo
    tab and a photo with no face each get one line that says what is wrong and what to do."""
    from tests.video.test_loop import make_clip
    notes, fake, clip = tmp_path / 'notes.txt', tmp_path / 'fake.jpg', tmp_path / 'clip.mp4'
    notes.write_text('just some words\n' * 40)
    fake.write_text('not a photo at all\n' * 10)
    make_clip(clip, frames=4, size=64)
    open_page(browser, server)

    def status(d):
        return by_id(d, 'status').text

    # a video on the photo tab: points to the Video tab
    by_id(browser, 'photo-input').send_keys(str(clip))
    wait_until(browser, lambda d: 'clip.mp4' in status(d) and 'Uploading' not in status(d), 'the refused video')
    assert 'a video' in status(browser) and 'Video tab' in status(browser), status(browser)
    assert by_id(browser, 'status').get_attribute('class') == 'error'

    # a photo with no face: says so, and what to try
    open_photo(browser, plain_photo(tmp_path, 'no face.png', 200, 150))
    wait_until(browser, lambda d: 'face' in status(d) and 'Restoring' not in status(d), 'the no-face hint')
    said = status(browser)
    assert said.startswith('No face was found') and 'detector' in said and 'larger photo' in said, said
    assert '\n' not in said

    # a text file on the video tab: refused, Restore stays disabled
    browser.find_element('css selector', '.tab[data-tab="video"]').click()
    by_id(browser, 'video-input').send_keys(str(notes))
    wait_until(browser, lambda d: 'notes.txt' in status(d) and 'Uploading' not in status(d), 'the refused text')
    said = status(browser)
    assert 'not a video' in said and '\n' not in said, said
    assert by_id(browser, 'status').get_attribute('class') == 'error'
    assert not by_id(browser, 'video-start').is_enabled()
    assert '0x0' not in by_id(browser, 'video-info').text

    # a text file called .jpg in a batch: refused when added, not listed as ready
    browser.find_element('css selector', '.tab[data-tab="batch"]').click()
    by_id(browser, 'batch-input').send_keys(str(fake))
    wait_until(browser, lambda d: d.find_elements('css selector', '#batch-refused li'), 'the refused fake photo')
    refused = [li.text for li in browser.find_elements('css selector', '#batch-refused li')]
    assert refused and refused[0].startswith('fake.jpg: not an image'), refused
    assert not browser.find_elements('css selector', '#batch-files li')
    assert not by_id(browser, 'batch-start').is_enabled()


def test_every_slider_has_an_accessible_name(browser, server, photo_file):
    """Issue 30, point 12: the second-w slider and the face cards' sliders had no name a screen reader could say."""
    open_page(browser, server)
    by_id(browser, 'photo-input').send_keys(str(photo_file))
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '1', 'the first restoration')
    sliders = browser.find_elements('css selector', 'input[type=range]')
    assert len(sliders) >= 10  # the page's own and two face cards' two each
    unnamed, said = [], {}
    for tab in ('photo', 'video'):  # a screen reader names only what is shown: each tab's sliders while it shows
        browser.find_element('css selector', f'.tab[data-tab="{tab}"]').click()
        for s in sliders:
            labelled = s.get_attribute('aria-label') or browser.execute_script(
                "const s = arguments[0]; return !!(s.id && document.querySelector(`label[for='${s.id}']`))", s)
            if not labelled or (s.is_displayed() and not s.accessible_name.strip()):
                unnamed.append(s.get_attribute('id') or s.get_attribute('class'))
            elif s.is_displayed():
                said[s.get_attribute('id') or s.get_attribute('class')] = s.accessible_name
    assert not unnamed, unnamed
    assert {'w', 'w2', 'compare', 'video-frame'} <= set(said), said


def test_tabs_are_a_tablist_with_arrow_keys(browser, server):
    """Issue 30, point 12: tabs with tab panels (aria-controls, aria-selected) that the arrow keys switch."""
    from selenium.webdriver.common.keys import Keys
    open_page(browser, server)
    assert browser.find_elements('css selector', '[role=tablist] > [role=tab]')
    tabs = browser.find_elements('css selector', '[role=tab]')
    assert [t.get_attribute('data-tab') for t in tabs] == ['photo', 'batch', 'video']
    for tab in tabs:
        panel = by_id(browser, tab.get_attribute('aria-controls'))
        assert panel.get_attribute('role') == 'tabpanel'
        assert panel.get_attribute('aria-labelledby') == tab.get_attribute('id') and tab.get_attribute('id')

    def selected():
        shown = [t.get_attribute('data-tab') for t in tabs if t.get_attribute('aria-selected') == 'true']
        panels = [p.get_attribute('id') for p in browser.find_elements('css selector', '[role=tabpanel]')
                  if p.is_displayed()]
        focused = browser.switch_to.active_element.get_attribute('data-tab')
        return shown, panels, focused

    assert [t.get_attribute('tabindex') for t in tabs] == ['0', '-1', '-1']  # one tab stop for the whole list
    tabs[0].click()
    tabs[0].send_keys(Keys.ARROW_RIGHT)
    assert selected() == (['batch'], ['tab-batch'], 'batch')
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    assert selected() == (['video'], ['tab-video'], 'video')
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)  # round to the first
    assert selected() == (['photo'], ['tab-photo'], 'photo')
    browser.switch_to.active_element.send_keys(Keys.ARROW_LEFT)
    assert selected() == (['video'], ['tab-video'], 'video')
    assert [t.get_attribute('tabindex') for t in tabs] == ['-1', '-1', '0']


def test_gallery_images_are_named_by_their_result(browser, server, photo_file):
    """Issue 30, point 12: the gallery's alt text was the file's path in the output folder."""
    open_page(browser, server)
    by_id(browser, 'photo-input').send_keys(str(photo_file))
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '1', 'the first restoration')
    browser.refresh()
    wait_until(browser, lambda d: d.find_elements('css selector', '#gallery img'), 'the gallery')
    alts = [img.get_attribute('alt') for img in browser.find_elements('css selector', '#gallery img')]
    assert alts and all(alt and '/' not in alt and not alt.endswith('.png') for alt in alts), alts
    assert 'two faces' in alts, alts


# -- jobs are server state (issue 30, point 3): a reload keeps their controls, Clear removes them all -------------


def test_a_reload_keeps_a_batch_and_its_controls(browser, server, tmp_path):
    """Issue 30, point 3: after a reload a running batch was only a line of text in the Jobs list: Stop disabled,
    its zip and report out of reach. Now the reloaded page shows the same job with a working Stop (in the Jobs list
    and in the batch tab, which takes the job up again), then its zip and report."""
    start_page_batch(browser, server, tmp_path, 12)
    wait_until(browser, lambda d: by_id(d, 'batch-state').get_attribute('data-state') == 'running', 'the run')
    job = browser.execute_script('return state.batch.job')
    browser.refresh()
    wait_until(browser, lambda d: page_data(d, 'ready') == '1', 'the reloaded page')
    stop = wait_until(browser, lambda d: [b for b in d.find_elements('css selector', f'#queue li[data-id="{job}"] '
                                                                       'button.stop') if b.is_enabled()],
                      'a Stop for the running job in the Jobs list')[0]
    browser.find_element('css selector', '.tab[data-tab="batch"]').click()
    wait_until(browser, lambda d: by_id(d, 'batch-stop').is_enabled(), 'the batch tab to take the job up again')
    assert by_id(browser, 'batch-state').get_attribute('data-state') == 'running'
    wait_until(browser, lambda d: float(by_id(d, 'batch-progress').get_attribute('value')) >= 1, 'a file done')
    assert stop.is_displayed()
    stop.click()
    wait_until(browser, lambda d: by_id(d, 'batch-state').get_attribute('data-state') == 'stopped', 'the stop')
    said = by_id(browser, 'batch-state').text
    assert not by_id(browser, 'batch-stop').is_enabled()
    screenshot(browser, tmp_path, 'batch-reloaded')
    links = {a.get_attribute('href') for a in browser.find_elements(
        'css selector', '#batch-zip, #batch-report, #queue a.zip, #queue a.report') if a.is_displayed()}
    assert links == {f'{server.url}api/jobs/{job}/results.zip', f'{server.url}api/jobs/{job}/report.json'}, links
    status, data = fetch(f'{server.url}api/jobs/{job}/results.zip')
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        kept = [n for n in z.namelist() if n.startswith('final_results/')]
        assert 'report.json' in z.namelist() and z.testzip() is None
    assert 0 < len(kept) < 12 and f'{len(kept)} of 12 files' in said, (kept, said)
    status, data = fetch(f'{server.url}api/jobs/{job}/report.json')
    assert status == 200 and len(json.loads(data)) == 12
    assert not [li for li in browser.find_elements('css selector', '#queue button.stop') if li.is_displayed()]


def test_another_tab_of_the_browser_shows_the_job_and_stops_it(browser, server, tmp_path):
    """Issue 30: jobs are server state a page takes up again "after a reload (or from another tab of the same
    client)". The job list was each tab's own (an id in its sessionStorage), so a second tab showed nothing of a batch
    the first one ran. Now the browser's tabs share the list: the second tab has the job with its Stop, and stopping
    it there stops it in the first tab too."""
    start_page_batch(browser, server, tmp_path, 12)
    wait_until(browser, lambda d: by_id(d, 'batch-state').get_attribute('data-state') == 'running', 'the run')
    job = browser.execute_script('return state.batch.job')
    first = browser.current_window_handle
    browser.switch_to.new_window('tab')
    try:
        open_page(browser, server)
        stop = wait_until(browser, lambda d: [b for b in d.find_elements(
            'css selector', f'#queue li[data-id="{job}"] button.stop') if b.is_enabled()],
            "a Stop for the first tab's job in the second tab's Jobs list")[0]
        browser.find_element('css selector', '.tab[data-tab="batch"]').click()
        wait_until(browser, lambda d: by_id(d, 'batch-stop').is_enabled(), 'the batch tab to take the job up')
        stop.click()
        wait_until(browser, lambda d: by_id(d, 'batch-state').get_attribute('data-state') == 'stopped', 'the stop')
    finally:
        browser.close()
        browser.switch_to.window(first)
    wait_until(browser, lambda d: by_id(d, 'batch-state').get_attribute('data-state') == 'stopped',
               'the first tab to see the stop')
    assert by_id(browser, 'batch-zip').is_displayed()


def test_a_reload_keeps_a_video_job_and_its_download(browser, server, tmp_path):
    """Issue 30, point 3, for a video: the reloaded page shows the job in the Jobs list and takes it up again in
    the video tab, with the finished video's link in both."""
    open_video(browser, server, tmp_path / 'reloaded.mp4')
    by_id(browser, 'video-start').click()
    wait_until(browser, lambda d: d.execute_script('return state.video.job'), 'the video job')
    job = browser.execute_script('return state.video.job')
    browser.refresh()
    wait_until(browser, lambda d: page_data(d, 'ready') == '1', 'the reloaded page')
    link = wait_until(browser, lambda d: d.find_elements('css selector', f'#queue li[data-id="{job}"] a.video'),
                      'the video link in the Jobs list')[0]
    url = f'{server.url}api/jobs/{job}/video.mp4'
    assert link.get_attribute('href') == url
    status, data = fetch(url)
    assert status == 200 and len(data) > 1000
    browser.find_element('css selector', '.tab[data-tab="video"]').click()
    wait_until(browser, lambda d: by_id(d, 'video-download').is_displayed(), 'the video tab to take the job up')
    assert by_id(browser, 'video-download').get_attribute('href') == url
    assert by_id(browser, 'video-state').get_attribute('data-state') == 'done'
    assert by_id(browser, 'video-start').is_enabled()  # the same upload can run again


def test_clear_finished_removes_every_control_of_the_cleared_jobs(browser, server, tmp_path):
    """Issue 30, point 3: "Clear finished" left the batch tab's "Download results (zip)" link, which then gave 404.
    Clearing now takes every link and button of the cleared jobs off the page; what stays works."""
    start_page_batch(browser, server, tmp_path, 1)
    wait_until(browser, lambda d: by_id(d, 'batch-state').get_attribute('data-state') == 'done', 'the batch')
    assert by_id(browser, 'batch-zip').is_displayed() and job_links(browser)
    by_id(browser, 'queue-clear').click()
    wait_until(browser, lambda d: not d.find_elements('css selector', '#queue li'), 'the cleared job list')
    broken = [(url, status) for url in job_links(browser) if (status := fetch(url)[0]) != 200]
    assert not broken, broken
    assert not by_id(browser, 'batch-zip').is_displayed() and not by_id(browser, 'batch-report').is_displayed()
    assert not by_id(browser, 'batch-state').text  # no line about a job the list no longer has


def test_a_page_with_no_job_says_the_server_is_busy_with_another(browser, server):
    """Issue 30, point 2: a second tab said "queue: empty" while the first tab's batch held the worker. A page with no
    job of its own now says that another page's job is running, and "queue: empty" again once it has ended."""
    from tests.serve.test_events import start_batch
    open_page(browser, server)
    wait_until(browser, lambda d: by_id(d, 'queue-summary').text == 'queue: empty', 'an empty queue')
    job = start_batch(server, 'another-browser', 6)
    wait_until(browser, lambda d: 'another page' in by_id(d, 'queue-summary').text, 'the other job to be said')
    said = by_id(browser, 'queue-summary').text
    assert said.startswith('queue: empty') and '1 job of another page' in said, said
    wait_until(browser, lambda d: server.json('GET', f'/api/jobs/{job}')['state'] == 'done', 'the other job to end')
    wait_until(browser, lambda d: by_id(d, 'queue-summary').text == 'queue: empty', 'an empty queue again')
