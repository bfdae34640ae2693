"""`python -m bench.serve --port P --workers N [--stock]`: the bench app under uvicorn.

uvicorn's own multi-worker path binds the listening socket without `IPPROTO_TCP`, so
asyncio never sets TCP_NODELAY on accepted connections and every keep-alive response
waits ~40 ms for the client's delayed ACK (Kludex/uvicorn#3149; measured here: 44 ms for
a trivial route with `--workers 2` against 2 ms with 1 worker). By default this launcher
binds the socket as TCP itself, for 1 worker as for N; `--stock` runs uvicorn's path
unchanged, to show the penalty."""

from __future__ import annotations

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "bench.app:create_bench_app"


class TcpConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.set_inheritable(True)
        return sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--stock", action="store_true", help="uvicorn's own socket binding")
    parser.add_argument("--app", default=APP, help="the app factory (module:function)")
    args = parser.parse_args()
    app = args.app
    options = {"factory": True, "host": "127.0.0.1", "port": args.port, "workers": args.workers}
    options |= {"log_level": "warning", "access_log": False}
    if args.stock:
        uvicorn.run(app, **options)
        return
    config = TcpConfig(app, **options)
    sock = config.bind_socket()
    if args.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
