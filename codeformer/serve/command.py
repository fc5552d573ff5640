"""``codeformer serve``: options, the networks loaded once, then the server until Ctrl-C."""
from __future__ import annotations

import argparse
import ipaddress
import sys
import threading
import webbrowser

from codeformer import __version__
from codeformer.cli.arguments import add_max_pixels, add_precision, fidelity_weight, number, positive_int, precision_of
from codeformer.cli.log import EXIT_OK, interruption_code, say

DEFAULT_PORT = 7860
DEFAULT_MAX_UPLOAD_MB = 500


def serve_parser(prog: str = 'codeformer serve') -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description='A local web page for restoring photos and videos.')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default: 127.0.0.1, this computer only)')
    parser.add_argument('--port', type=number(int, 0, 65535), default=DEFAULT_PORT,
                        help=f'port (default: {DEFAULT_PORT}; 0: any free port)')
    parser.add_argument('--open', action='store_true', help='open the page in the web browser')
    parser.add_argument('--model_path', default=None, help='a compatible checkpoint instead of the released one')
    parser.add_argument('--device', default='auto', help='auto (default), cpu, cuda, cuda:N or mps')
    add_precision(parser)
    parser.add_argument('--batch_size', type=positive_int, default=None,
                        help='faces per network call (default: chosen for the device)')
    parser.add_argument('-w', '--fidelity_weight', type=fidelity_weight, default=0.5,
                        help="the page's starting w (default: 0.5)")
    parser.add_argument('--detection_model', default='retinaface_resnet50', help="the page's starting face detector")
    parser.add_argument('--no_parse', action='store_true', help="the page starts with face parsing off")
    parser.add_argument('--max_upload_mb', type=positive_int, default=DEFAULT_MAX_UPLOAD_MB,
                        help='largest upload (a file, or what a zip unpacks to) in MB '
                             f'(default: {DEFAULT_MAX_UPLOAD_MB})')
    add_max_pixels(parser)
    parser.add_argument('-q', '--quiet', action='store_true', help='no request log')
    parser.add_argument('--version', action='version', version=f'codeformer {__version__}')
    return parser


def is_loopback(host: str) -> bool:
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None, prog: str = 'codeformer serve') -> int:
    parser = serve_parser(prog)
    args = parser.parse_args(argv)
    from codeformer.cli.arguments import check_detector
    check_detector(parser, args.detection_model)

    import uvicorn

    from codeformer.restorer import FaceRestorer
    from codeformer.serve.app import Server, build_app
    from codeformer.serve.models import Models, Settings

    restorer = FaceRestorer('restoration', w=args.fidelity_weight, model_path=args.model_path, device=args.device,
                            precision=precision_of(args), batch_size=args.batch_size, progress=not args.quiet)
    model_name = None
    if args.model_path:
        from pathlib import Path
        model_name = Path(args.model_path).name
    defaults = Settings(w=args.fidelity_weight, detector=args.detection_model, parse=not args.no_parse)
    server = Server(Models(restorer, model_name), defaults, args.max_pixels, args.max_upload_mb * 1_000_000,
                    restorer.batch_size)
    if not is_loopback(args.host):
        say('warning', f'listening on {args.host}: anyone who can reach this computer on port {args.port} can use '
                       f'the page and upload files to it')
    config = uvicorn.Config(build_app(server), host=args.host, port=args.port, log_level='warning',
                            access_log=not args.quiet, timeout_graceful_shutdown=5)
    web = uvicorn.Server(config)

    def announce() -> None:  # once the socket listens: the real port (for --port 0) and --open
        while not web.started and not web.should_exit:
            threading.Event().wait(0.05)
        if web.started:
            port = web.servers[0].sockets[0].getsockname()[1]
            host = args.host if ':' not in args.host else f'[{args.host}]'
            url = f'http://{"127.0.0.1" if args.host in ("0.0.0.0", "::") else host}:{port}/'
            print(f'codeformer serve: {url} (Ctrl-C stops the server and removes the uploads)', file=sys.stderr,
                  flush=True)
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


def stopped(server, code: int) -> int:
    server.close()
    say('stopped', 'the server stopped; its uploads and results were removed')
    return code
