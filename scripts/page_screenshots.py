"""The web page's screenshots for the README, made as the browser tests see it: a real ``codeformer serve`` with
stand-in weights (the tests' small network, MTCNN, no parsing), a photo with two faces opened in Debian's headless
Chromium at a phone's, a tablet's and a desktop's size, in light and dark. Saves six PNGs,
``<out>/page-<width>x<height>-<light|dark>.png``, each reduced to a palette so that it stays small.

    python scripts/page_screenshots.py [--out docs]

Needs Chromium and its driver (apt-get install -y chromium chromium-driver) and the dev requirements (Selenium).
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAX_BYTES = 300_000  # each screenshot at most this big: fewer colours until it is
COLOURS = (256, 128, 64, 32)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', type=Path, default=ROOT / 'docs', help='the folder the PNGs go to (default: docs)')
    return parser.parse_args(argv)


def small_png(png: bytes) -> bytes:
    """``png`` as a palette PNG of at most ``MAX_BYTES`` (or as small as 32 colours make it)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert('RGB')
    for colours in COLOURS:
        out = io.BytesIO()
        rgb.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(out, 'PNG', optimize=True)
        if out.tell() <= MAX_BYTES:
            break
    return out.getvalue()


def shoot(driver, served, photo: Path, out: Path) -> list[Path]:
    """The page with ``photo`` open at every size and colour scheme, saved in ``out``."""
    from tests.support.browser import wait_until
    from tests.support.page import open_page, open_photo
    from tests.support.screens import SCHEMES, SIZES, emulate, images_loaded, stop_emulating

    saved = []
    for width, height in SIZES.values():
        for scheme in SCHEMES:
            emulate(driver, width, height, scheme)
            try:
                open_page(driver, served)
                open_photo(driver, photo)
                wait_until(driver, lambda d: len(d.find_elements('css selector', '#faces .face img.after[src]')) == 2,
                           'the restored face cards')
                wait_until(driver, images_loaded, 'the images of the page')
                driver.execute_script('window.scrollTo(0, 0)')
                path = out / f'page-{width}x{height}-{scheme}.png'
                path.write_bytes(small_png(driver.get_screenshot_as_png()))
            finally:
                stop_emulating(driver)
            print(path, flush=True)
            saved.append(path)
    return saved


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out.expanduser().resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f'page_screenshots: cannot make the folder {out}: {exc.strerror or exc}', file=sys.stderr)
        return 2
    from codeformer.utils.image_io import write_image
    from tests.support.browser import start_chromium
    from tests.support.nets import save_checkpoint, small_codeformer
    from tests.support.serve import start_server, two_faces

    with tempfile.TemporaryDirectory(prefix='page-screenshots-') as folder:
        tmp = Path(folder)
        checkpoint = save_checkpoint(small_codeformer(), tmp / 'small.pth')
        photo = tmp / 'two faces.png'
        write_image(photo, two_faces())
        try:
            served = start_server(checkpoint, tmp / 'served')
            try:
                driver = start_chromium(tmp / 'downloads')
                try:
                    shoot(driver, served, photo, out)
                finally:
                    driver.quit()
            finally:
                served.stop()
        except (RuntimeError, AssertionError) as exc:  # no Chromium, a server that did not start, a page that hung
            print(f'page_screenshots: {str(exc).strip().splitlines()[0]}', file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
