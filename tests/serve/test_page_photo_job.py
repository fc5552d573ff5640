"""The photo tab while a restore runs (issue 30, point 2), in headless Chromium against a real server with a slower
network (``test_photo_job``): a progress line with a figure and a bar, and a Stop that ends the restore and leaves
the last finished result shown."""
import re

import pytest

from codeformer.utils.image_io import write_image
from tests.serve import test_photo_job
from tests.serve.test_photo_job import FACES, group_photo
from tests.support.browser import page_data, wait_until
from tests.support.page import by_id, open_page, open_photo, screenshot, set_value

pytestmark = pytest.mark.slow  # drives a headless browser

slow_server = test_photo_job.slow_server  # the same fixture: a server with the slower network, for this module


def progress_line(driver) -> dict:
    return driver.execute_script("""
        const line = document.getElementById('photo-progress'), bar = document.getElementById('photo-progress-bar');
        return { shown: !line.hidden && line.offsetParent !== null, bar: bar.position,
                 text: document.getElementById('photo-progress-text').textContent,
                 stop: !document.getElementById('photo-stop').disabled };""")


def test_a_restore_shows_its_progress_and_stops(browser, slow_server, tmp_path):
    photo = tmp_path / 'eight.png'
    write_image(photo, group_photo())
    open_page(browser, slow_server)
    set_value(browser, 'upscale', '1')
    assert not progress_line(browser)['shown']  # nothing under way: no progress line
    open_photo(browser, photo)
    assert not progress_line(browser)['shown']

    # a new w: the figure and the bar follow the faces restored, with the time left
    set_value(browser, 'w', '0.2')
    figure = re.compile(rf'^(\d+) of {FACES} faces, about (\d+) s left$')

    def under_way(d):
        line = progress_line(d)
        said = figure.match(line['text'])
        return line if line['shown'] and said and 1 <= int(said[1]) < FACES else None
    line = wait_until(browser, under_way, 'the progress figure', 300)
    assert line['stop'] and 0 < line['bar'] < 1, line
    screenshot(browser, tmp_path, 'photo-progress')

    # Stop: the restore ends, the page says so (not as an error), the result before stays shown
    by_id(browser, 'photo-stop').click()
    wait_until(browser, lambda d: by_id(d, 'status').text.startswith('eight.png: stopped after'), 'the stop', 300)
    assert by_id(browser, 'status').text.endswith('the last finished result stays')
    assert 'error' not in by_id(browser, 'status').get_attribute('class')
    assert page_data(browser, 'photoVersion') == '1'
    assert 'v=1' in by_id(browser, 'photo-after').get_attribute('src')
    assert not progress_line(browser)['shown'] and not progress_line(browser)['stop']

    # the next change restores as before
    set_value(browser, 'w', '0.6')
    wait_until(browser, lambda d: page_data(d, 'photoVersion') == '2', 'the next result', 300)
    assert not progress_line(browser)['shown']
