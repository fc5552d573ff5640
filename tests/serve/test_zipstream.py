"""The page's zips, written as a stream of chunks."""
import io
import zipfile

import numpy as np

from codeformer.serve.zipstream import zip_stream


def test_zip_stream_is_a_valid_zip(tmp_path):
    big = tmp_path / 'big.png'
    big.write_bytes(np.random.default_rng(1).bytes(3_000_000))
    report = tmp_path / 'r.json'
    report.write_text('[1]')
    chunks = list(zip_stream([('dir/big.png', big), ('report.json', report)]))
    assert max(len(c) for c in chunks) <= 1_100_000  # streamed a block at a time, not built whole
    with zipfile.ZipFile(io.BytesIO(b''.join(chunks))) as z:
        assert z.read('dir/big.png') == big.read_bytes() and z.read('report.json') == b'[1]'
