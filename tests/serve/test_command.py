"""The options of ``codeformer serve``."""
import pytest

from codeformer.serve.command import is_loopback, serve_parser


def test_defaults_listen_on_this_computer_only():
    args = serve_parser().parse_args([])
    assert (args.host, args.port, args.open) == ('127.0.0.1', 7860, False)
    assert args.output_dir == 'results/serve'  # results stay, in the official layout
    assert is_loopback(args.host) and is_loopback('localhost') and is_loopback('::1')
    assert not is_loopback('0.0.0.0') and not is_loopback('192.168.1.5') and not is_loopback('example.org')


def test_bad_options_are_usage_errors(capsys):
    for argv in (['--port', '70000'], ['-w', '2'], ['--max_upload_mb', '0']):
        with pytest.raises(SystemExit) as exc:
            serve_parser().parse_args(argv)
        assert exc.value.code == 2
    assert 'must be in [0, 1]' in capsys.readouterr().err
