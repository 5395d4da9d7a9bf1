"""`pitchlint serve`: the app on gunicorn (gevent workers), the model loaded in each worker."""
from __future__ import annotations

import errno
import ipaddress
import os
import socket

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None))
        except OSError:
            return False


def decide_keys(host: str, configured: bool | None) -> bool:
    """Keys are required off loopback; on loopback they are off unless asked for (one local user)."""
    if is_loopback(host):
        return False if configured is None else configured
    if configured is False:
        raise SystemExit(f"refusing to serve on {host} without API keys: PITCHLINT_REQUIRE_KEYS=0 is "
                         "only allowed on a loopback address (127.0.0.1, ::1)")
    return True


def check_port(host: str, port: int) -> None:
    """SystemExit with one clear line when HOST:PORT can't be bound (another server has it),
    before anything says "serving on". Binds as gunicorn does (SO_REUSEADDR), then lets go."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise SystemExit(f"pitchlint: can't serve on {host}: {e.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as e:
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            if e.errno == errno.EADDRINUSE:
                raise SystemExit(f"pitchlint: port {port} on {host} is already in use (another "
                                 f"`pitchlint serve`?); stop that server or choose another port "
                                 f"with --port") from None
            raise SystemExit(f"pitchlint: can't serve on {where}: {e.strerror or e}") from None


def run(host: str, port: int, workers: int, threads: int, require_keys: bool | None, log=print):
    from gunicorn.app.base import BaseApplication

    required = decide_keys(host, require_keys)
    os.environ["PITCHLINT_REQUIRE_KEYS"] = "1" if required else "0"
    if not os.environ.get("PITCHLINT_TORCH_THREADS"):
        os.environ["PITCHLINT_TORCH_THREADS"] = str(max(1, (os.cpu_count() or 2) // workers))

    class Server(BaseApplication):
        def load_config(self):
            from .production import gunicorn_settings

            bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            # gevent workers (production.py says why); the model on each worker's main thread.
            for k, v in gunicorn_settings(bind, workers, threads).items():
                if k in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                    self.cfg.set(k, v)

        def load(self):
            from . import create_app

            return create_app()

    where = f"http://{host}:{port}"
    if required:
        log(f"pitchlint: serving on {where} ({workers} workers); API keys are required "
            "(create one with `pitchlint keys create --name NAME`)")
    else:
        log(f"pitchlint: serving on {where} ({workers} workers) WITHOUT API keys, for one local "
            "user on this machine; set PITCHLINT_REQUIRE_KEYS=1 to require them")
    Server().run()
