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


def test_the_limits_are_options_with_defaults():
    from codeformer.serve.command import server_limits
    from codeformer.serve.limits import Limits
    assert server_limits(serve_parser().parse_args([])) == Limits()
    limits = server_limits(serve_parser().parse_args(['--max_queued_jobs', '2', '--max_queued_jobs_per_client', '1',
                                                      '--max_waiting_tasks', '3', '--max_photos', '1',
                                                      '--max_stored_mb', '700']))
    assert (limits.queued_jobs, limits.queued_jobs_per_client, limits.waiting_tasks) == (2, 1, 3)
    assert (limits.waiting_tasks_per_client, limits.photos, limits.photos_per_tab) == (3, 1, 1)
    assert limits.stored_bytes == 700_000_000


def test_a_store_smaller_than_one_upload_is_a_usage_error(capsys):
    from codeformer.serve.command import main
    with pytest.raises(SystemExit) as exc:
        main(['--max_stored_mb', '10', '--max_upload_mb', '20'])
    assert exc.value.code == 2
    assert 'argument --max_stored_mb: 10 is less than --max_upload_mb (20)' in capsys.readouterr().err
