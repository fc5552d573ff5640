"""The page in a real browser (issue 30, points 8, 10, 12): it follows its jobs through the server's event stream
instead of asking every 0.7 s, says once and clearly when the server has stopped, shows plain frames while the video
tab's frame slider is dragged, and plays the uploaded and the restored video in the page."""
import signal
import time
import urllib.request

import pytest

from tests.support.browser import page_data, wait_until
from tests.support.page import by_id, open_page, open_video, screenshot, start_page_batch
from tests.support.serve import start_server

pytestmark = pytest.mark.slow  # drives a headless browser

GONE = 'The server has stopped: start it again with `codeformer serve` and reload this page.'


def test_the_page_follows_its_jobs_without_polling(browser, server, tmp_path):
    """The log was 75 % the page's own job poll: now a batch's progress and end reach the page through one event
    stream, which the log leaves out, and an idle page asks for nothing."""
    before = server.log.stat().st_size
    start_page_batch(browser, server, tmp_path, 2)
    wait_until(browser, lambda d: by_id(d, 'batch-state').get_attribute('data-state') == 'done', 'the batch')
    assert '2 of 2 files' in by_id(browser, 'batch-state').text
    assert browser.find_elements('css selector', '#queue li[data-state="done"] a.zip')
    time.sleep(3)  # an idle page for a while: nothing to log
    lines = server.log.read_bytes()[before:].decode(errors='replace').splitlines()
    assert not [line for line in lines if '/api/events' in line], lines
    polls = [line for line in lines if '"GET /api/jobs ' in line]
    assert len(polls) <= 1, polls  # the first look when the page opens, at most


def test_the_page_says_when_the_server_has_stopped(browser, checkpoint, tmp_path):
    """Ctrl-C of the server: the page said "500 Internal Server Error", then "Failed to fetch". Now one notice that
    says what happened and what to do, and that stays."""
    served = start_server(checkpoint, tmp_path / 'srv')
    try:
        open_page(browser, served)
        served.process.send_signal(signal.SIGINT)
        assert served.process.wait(timeout=60) == 130
        wait_until(browser, lambda d: page_data(d, 'serverGone') == '1', 'the notice that the server is gone', 30)
        assert by_id(browser, 'status').text == GONE
        by_id(browser, 'queue-clear').click()  # a request to a server that is gone: the notice stays
        time.sleep(1)
        assert by_id(browser, 'status').text == GONE
        screenshot(browser, tmp_path, 'server-gone')
    finally:
        served.stop()


def mouse(driver, kind: str, x: float, y: float) -> None:
    """A mouse event with the left button (pressed, moved while held, released), as Chromium's input takes it: a
    drag that stays held between the test's looks at the page."""
    driver.execute_cdp_cmd('Input.dispatchMouseEvent', {'type': kind, 'x': x, 'y': y, 'button': 'left',
                                                        'buttons': 0 if kind == 'mouseReleased' else 1,
                                                        'clickCount': 1})


def test_dragging_the_frame_slider_shows_frames(browser, server, tmp_path):
    """The frame slider showed nothing until release, then a long restore of that frame: now the plain frame under
    the slider shows while dragging (a few a second), and the restored preview comes on release as before."""
    open_video(browser, server, tmp_path / 'scrub.mp4')
    slider = by_id(browser, 'video-frame')
    left, top, width, height = browser.execute_script(
        'const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.width, r.height]', slider)
    y = top + height / 2
    shown = []

    def shows_new_frame(d):
        frame = page_data(d, 'scrubFrame')
        if frame is None or frame in shown or not by_id(d, 'video-scrub').is_displayed():
            return False
        loaded = d.execute_script("const i = document.getElementById('video-scrub'); "
                                  "return i.complete && i.naturalWidth > 0 && i.src.endsWith('index=' + arguments[0])",
                                  frame)
        if loaded:
            shown.append(frame)
        return loaded

    mouse(browser, 'mousePressed', left + 2, y)  # the thumb at frame 0
    try:
        for x in (left + width * 0.35, left + width * 0.75):
            mouse(browser, 'mouseMoved', x, y)
            wait_until(browser, shows_new_frame, 'a plain frame while the slider is held')
        assert page_data(browser, 'previewFrame') == '0'  # no restore while dragging
        held = int(slider.get_attribute('value'))
    finally:
        mouse(browser, 'mouseReleased', left + width * 0.75, y)
    assert len(shown) == 2 and shown[-1] == str(held) and held > int(shown[0]) > 0, (shown, held)
    wait_until(browser, lambda d: page_data(d, 'previewFrame') == str(held), 'the restored preview on release')
    wait_until(browser, lambda d: not by_id(d, 'video-scrub').is_displayed(), 'the restored frame in its place')


def playing(driver, element_id: str) -> bool:
    """Whether the ``<video>`` has frames to show and its time moves (it is started, muted, if it is not)."""
    return driver.execute_script("""
        const v = document.getElementById(arguments[0]);
        if (!v.currentSrc) return false;
        if (v.paused) { v.muted = true; v.play().catch(() => {}); }
        return v.readyState >= 2 && v.currentTime > 0;""", element_id)


def test_the_uploaded_and_the_restored_video_play_in_the_page(browser, server, tmp_path):
    open_video(browser, server, tmp_path / 'played.mp4')
    h264 = browser.execute_script("return document.createElement('video').canPlayType("
                                  "'video/mp4; codecs=\"avc1.64001e, mp4a.40.2\"')")
    source = by_id(browser, 'video-input-player').get_attribute('src')
    assert source and by_id(browser, 'video-input-player').is_displayed()
    ranged = urllib.request.Request(source, headers={'Range': 'bytes=0-99'})  # seeking asks for parts
    with urllib.request.urlopen(ranged) as r:
        assert r.status == 206 and len(r.read()) == 100 and r.headers['Content-Type'] == 'video/mp4'
    by_id(browser, 'video-start').click()
    wait_until(browser, lambda d: by_id(d, 'video-state').get_attribute('data-state') == 'done', 'the video job')
    job = browser.execute_script('return state.video.job')
    player = by_id(browser, 'video-result-player')
    assert player.is_displayed() and player.get_attribute('src') == f'{server.url}api/jobs/{job}/video.mp4'
    if not h264:
        pytest.skip("this Chromium plays no H.264 (Debian's without its codecs): the players are there, not played")
    wait_until(browser, lambda d: playing(d, 'video-input-player'), 'the uploaded video to play')
    wait_until(browser, lambda d: playing(d, 'video-result-player'), 'the restored video to play')
    screenshot(browser, tmp_path, 'video-players')
