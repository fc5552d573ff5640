"""What the page's browser tests do as a user does: open the page, give it files, move its controls, and read back
where things are drawn. Shared by the browser tests of ``tests/serve/`` (the ``browser`` fixture is in its conftest)."""
import os
import shutil
from pathlib import Path

from codeformer.utils.image_io import write_image
from tests.support.browser import page_data, wait_until
from tests.support.serve import two_faces


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


def open_video(browser, server, clip):
    """A 10-frame clip written at ``clip`` and opened in the page's Video tab, its first frame previewed."""
    from tests.video.test_loop import make_clip
    make_clip(clip, frames=10, size=128)
    open_page(browser, server)
    browser.find_element('css selector', '.tab[data-tab="video"]').click()
    by_id(browser, 'video-input').send_keys(str(clip))
    wait_until(browser, lambda d: page_data(d, 'previewFrame') == '0', 'the preview of frame 0')


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


def plain_photo(tmp_path: Path, name: str, width: int, height: int) -> Path:
    """A photo with no face (a smooth gradient): restoring it runs no network, so each check is quick."""
    import numpy as np
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    image = np.concatenate([np.broadcast_to(x, (height, width, 1)), np.broadcast_to(y, (height, width, 1)),
                            np.full((height, width, 1), 128, np.float32)], axis=2).astype(np.uint8)
    path = tmp_path / name
    write_image(path, image)
    return path


def open_photo(driver, path: Path) -> None:
    """Upload ``path`` on the photo tab and wait for its first result."""
    driver.execute_script('delete document.body.dataset.photoVersion')
    by_id(driver, 'photo-input').send_keys(str(path))
    wait_until(driver, lambda d: page_data(d, 'photoName') == path.name and page_data(d, 'photoVersion') == '1',
               f'the result of {path.name}')
    wait_until(driver, lambda d: d.execute_script("const i = document.getElementById('photo-after'); "
                                                  "return i.complete && i.naturalWidth > 0"), 'the result to load')


def set_value(driver, element_id: str, value: str, event: str = 'change') -> None:
    driver.execute_script("const e = document.getElementById(arguments[0]); e.value = arguments[1]; "
                          "e.dispatchEvent(new Event(arguments[2]))", element_id, value, event)


def compare_geometry(driver) -> dict:
    """Where the two halves of the before/after view and its divider are drawn, and the result's own size."""
    return driver.execute_script("""
        const rect = (id) => { const e = document.getElementById(id); if (!e) return null;
          const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
        const after = document.getElementById('photo-after');
        return { before: rect('photo-before'), after: rect('photo-after'), divider: rect('photo-divider'),
                 natural: [after.naturalWidth, after.naturalHeight],
                 split: Number(document.getElementById('compare').value) };""")


def fetch(url: str) -> tuple[int, bytes]:
    """(status, body) of a GET, an HTTP error's status too."""
    import urllib.error
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def job_links(driver) -> list[str]:
    """The addresses of every job download the page shows (batch tab, video tab and the Jobs list)."""
    return [a.get_attribute('href') for a in driver.find_elements('css selector', 'a[href*="/api/jobs/"]')
            if a.is_displayed()]


def start_page_batch(driver, server, tmp_path: Path, files: int) -> None:
    """Open the page, add ``files`` photos of two faces to a batch and start it."""
    photo = tmp_path / 'group.png'
    write_image(photo, two_faces())
    paths = [photo] + [shutil.copy(photo, tmp_path / f'group {i}.png') for i in range(1, files)]
    open_page(driver, server)
    driver.find_element('css selector', '.tab[data-tab="batch"]').click()
    by_id(driver, 'batch-input').send_keys('\n'.join(str(p) for p in paths))
    wait_until(driver, lambda d: len(d.find_elements('css selector', '#batch-files li')) == files, 'the uploads')
    by_id(driver, 'batch-start').click()
