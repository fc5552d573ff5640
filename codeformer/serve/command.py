"""``codeformer serve``: options, the networks loaded once, then the server until Ctrl-C."""
from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import secrets
import sys
import threading
import webbrowser

from codeformer import __version__, settings
from codeformer.batch import options
from codeformer.batch.exits import EXIT_OK, interruption_code, say
from codeformer.detection import DETECTORS
from codeformer.errors import InvalidOption
from codeformer.precisions import PRECISIONS
from codeformer.serve import limits

DEFAULT_PORT = 7860
DEFAULT_MAX_UPLOAD_MB = 500
DEFAULT_OUTPUT_DIR = 'results/serve'
GRACEFUL_S = 2  # what uvicorn waits for requests still open at Ctrl-C (a photo waiting for the network) to end


def _checked(parse):
    """An argparse type from a parser of ``codeformer.batch.options``."""
    def convert(text: str):
        try:
            return parse(text)
        except InvalidOption as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return convert


def serve_parser(prog: str = 'codeformer serve') -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description='A local web page for restoring photos and videos.')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default: 127.0.0.1, this computer only)')
    parser.add_argument('--port', type=_checked(settings.port_number), default=DEFAULT_PORT,
                        help=f'port (default: {DEFAULT_PORT}; 0: any free port)')
    parser.add_argument('--open', action='store_true', help='open the page in the web browser')
    parser.add_argument('--allow-host', '--allow_host', dest='allow_host', action='append', default=[],
                        metavar='NAME', help='also answer requests for this host name (repeatable; the page answers '
                                             'only the address it listens on, and localhost for a loopback one)')
    parser.add_argument('--token', default=None,
                        help='the token the page asks for (default: $CODEFORMER_TOKEN, else one made at start when '
                             '--host is beyond this computer; none on 127.0.0.1)')
    parser.add_argument('--no-token', '--no_token', dest='no_token', action='store_true',
                        help='no token even beyond this computer (behind a reverse proxy that authenticates)')
    parser.add_argument('--model_path', default=None, help='a compatible checkpoint instead of the released one')
    parser.add_argument('--device', default='auto', help='auto (default), cpu, cuda, cuda:N or mps')
    parser.add_argument('--precision', choices=PRECISIONS, default='auto',
                        help=options.PRECISION_HELP)
    parser.add_argument('--fp32', action='store_true', help='the same as --precision fp32')
    parser.add_argument('--compile', action='store_true',
                        help='compile the network with torch.compile (the first run compiles; later ones read the '
                             'cache)')
    parser.add_argument('--batch_size', type=_checked(settings.positive_int), default=None,
                        help='faces per network call (default: chosen for the device)')
    parser.add_argument('-w', '--fidelity_weight', type=_checked(settings.fidelity_weight), default=0.5,
                        help="the page's starting w (default: 0.5)")
    parser.add_argument('--detection_model', default='retinaface_resnet50',
                        help=f"the page's starting face detector: {DETECTORS.described('retinaface_resnet50')}")
    parser.add_argument('--no_parse', action='store_true', help="the page starts with face parsing off")
    parser.add_argument('--max_upload_mb', type=_checked(settings.positive_int), default=DEFAULT_MAX_UPLOAD_MB,
                        help='largest upload (a file, or what a zip unpacks to) in MB '
                             f'(default: {DEFAULT_MAX_UPLOAD_MB})')
    parser.add_argument('--max_pixels', type=_checked(settings.positive_int), default=options.DEFAULT_MAX_PIXELS,
                        metavar='N', help=options.MAX_PIXELS_HELP)
    positive = _checked(settings.positive_int)
    parser.add_argument('--max_queued_jobs', type=positive, default=limits.DEFAULT_QUEUED_JOBS, metavar='N',
                        help='batches and videos waiting to start, all clients together; more are answered "busy, '
                             f'try again" (503) (default: {limits.DEFAULT_QUEUED_JOBS})')
    parser.add_argument('--max_queued_jobs_per_client', type=positive,
                        default=limits.DEFAULT_QUEUED_JOBS_PER_CLIENT, metavar='N',
                        help='the same for one client: a browser tab, else an address '
                             f'(default: {limits.DEFAULT_QUEUED_JOBS_PER_CLIENT})')
    parser.add_argument('--max_waiting_tasks', type=positive, default=limits.DEFAULT_WAITING_TASKS, metavar='N',
                        help='photo and frame requests waiting for the network, all clients together (one client: '
                             f'{limits.DEFAULT_WAITING_TASKS_PER_CLIENT}) (default: {limits.DEFAULT_WAITING_TASKS})')
    parser.add_argument('--max_photos', type=positive, default=limits.DEFAULT_PHOTOS, metavar='N',
                        help='photos open at once in the photo tab, all clients together (one tab keeps its newest '
                             f'{limits.DEFAULT_PHOTOS_PER_TAB}) (default: {limits.DEFAULT_PHOTOS})')
    parser.add_argument('--max_stored_mb', type=positive, default=limits.DEFAULT_STORED_MB, metavar='MB',
                        help='uploads and work files kept at once in the private folder; uploads beyond are '
                             f'answered "busy" (503) (default: {limits.DEFAULT_STORED_MB})')
    parser.add_argument('--output_dir', default=DEFAULT_OUTPUT_DIR,
                        help='where every result is kept, in the batch tool\'s layout, never overwriting '
                             f'(default: {DEFAULT_OUTPUT_DIR})')
    parser.add_argument('-q', '--quiet', action='store_true', help='no request log')
    parser.add_argument('--version', action='version', version=f'codeformer {__version__}')
    return parser


def page_token(args: argparse.Namespace) -> str | None:
    """The page's token: given, else from the environment, else made here when the server listens beyond this
    computer; None on loopback (unless given) and with ``--no-token``."""
    if args.no_token:
        return None
    given = args.token or os.environ.get('CODEFORMER_TOKEN')
    if given or is_loopback(args.host):
        return given or None
    return secrets.token_urlsafe(24)


def server_limits(args: argparse.Namespace) -> limits.Limits:
    """The limits the options ask for."""
    return limits.Limits(queued_jobs=args.max_queued_jobs, queued_jobs_per_client=args.max_queued_jobs_per_client,
                         waiting_tasks=args.max_waiting_tasks,
                         waiting_tasks_per_client=min(args.max_waiting_tasks, limits.DEFAULT_WAITING_TASKS_PER_CLIENT),
                         stored_bytes=args.max_stored_mb * 1_000_000, photos=args.max_photos,
                         photos_per_tab=min(args.max_photos, limits.DEFAULT_PHOTOS_PER_TAB))


def is_loopback(host: str) -> bool:
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None, prog: str = 'codeformer serve') -> int:
    from codeformer.registry import load_plugins
    load_plugins()  # before the options: the detectors they take, and the page's lists, come from the registries
    parser = serve_parser(prog)
    args = parser.parse_args(argv)
    from codeformer.detection import check_detector
    try:
        check_detector(args.detection_model)
    except InvalidOption as exc:
        parser.error(f'argument --detection_model: {exc.reason}')
    if args.max_stored_mb < args.max_upload_mb:
        parser.error(f'argument --max_stored_mb: {args.max_stored_mb} is less than --max_upload_mb '
                     f'({args.max_upload_mb}): the largest upload would never fit')

    import uvicorn

    from codeformer.restorer import FaceRestorer
    from codeformer.serve.app import build_app
    from codeformer.serve.guard import HostPolicy, TokenRedaction
    from codeformer.serve.job_routes import QuietEvents
    from codeformer.serve.server import Server
    from codeformer.serve.session import Models, Settings

    restorer = FaceRestorer('restoration', w=args.fidelity_weight, model_path=args.model_path, device=args.device,
                            precision='fp32' if args.fp32 else args.precision, batch_size=args.batch_size,
                            progress=not args.quiet, compile=args.compile)
    model_name = None
    if args.model_path:
        from pathlib import Path
        model_name = Path(args.model_path).name
    defaults = Settings(w=args.fidelity_weight, detector=args.detection_model, parse=not args.no_parse)
    server = Server(Models(restorer, model_name), defaults, args.max_pixels, args.max_upload_mb * 1_000_000,
                    restorer.batch_size, args.output_dir, server_limits(args))
    token = page_token(args)
    if token is None and not is_loopback(args.host):
        say('warning', f'listening on {args.host} with no token: anyone who can reach this computer on port '
                       f'{args.port} can use the page and upload files to it')
    config = uvicorn.Config(build_app(server, HostPolicy(args.host, args.allow_host), token), host=args.host,
                            port=args.port, log_level='warning' if args.quiet else 'info',  # info: the request log
                            access_log=not args.quiet, timeout_graceful_shutdown=GRACEFUL_S)
    access = logging.getLogger('uvicorn.access')  # after uvicorn has set its logging up
    access.addFilter(TokenRedaction())
    access.addFilter(QuietEvents())
    web = web_server(config, server)

    def announce() -> None:  # once the socket listens: the real port (for --port 0) and --open
        while not web.started and not web.should_exit:
            threading.Event().wait(0.05)
        if web.started:
            port = web.servers[0].sockets[0].getsockname()[1]
            host = args.host if ':' not in args.host else f'[{args.host}]'
            url = f'http://{"127.0.0.1" if args.host in ("0.0.0.0", "::") else host}:{port}/'
            url += f'?token={token}' if token else ''
            print(f'codeformer serve: {url} (Ctrl-C stops the server and removes the uploads; the results stay in '
                  f'{server.results.root})', file=sys.stderr, flush=True)
            if args.open:
                webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    try:
        web.run()
    except KeyboardInterrupt as exc:  # uvicorn passes Ctrl-C (and SIGTERM) on once it has shut down
        return stopped(server, interruption_code(exc))
    finally:
        server.close()
    if web.should_exit:  # a signal uvicorn handled without passing it on (seen on a busy machine)
        return stopped(server, 130)
    return EXIT_OK


def web_server(config, server):
    """uvicorn's server, which tells ``server`` of Ctrl-C (or SIGTERM) at once: the event streams end and the jobs stop
    at their next check while uvicorn closes the connections, instead of after its graceful shutdown."""
    import uvicorn

    class Web(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            server.begin_close()
            super().handle_exit(sig, frame)

    return Web(config)


def stopped(server, code: int) -> int:
    """The exit lines: what the stop did to each job under way, then where things are, each as it is."""
    server.close()
    for line in server.ended:
        say('stopped', line)
    left = server.storage.root.exists()
    uploads = f'its uploads could not all be removed from {server.storage.root}' if left else 'its uploads were removed'
    say('stopped', f'the server stopped; {uploads}, the results stay in {server.results.root}')
    return code
