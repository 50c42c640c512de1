"""A real server process for the conformance tests, and the platforms' own logins to it.

These tests talk to `python -m instancemock serve --strict` over real sockets: schemathesis, raw
hostile bytes and slow clients need a listening port, not an in-process test client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from support import free_port, wait_healthy


@dataclass(frozen=True, slots=True)
class Server:
    base: str
    port: int
    process: subprocess.Popen[bytes]
    log: Any  # the file the server writes to: a pipe nobody reads would stall it

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return str(self.log.read().decode(errors="replace"))

    def url(self, path: str) -> str:
        return self.base + path

    def get_json(self, path: str, headers: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(self.url(path), headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def post_form(self, path: str, form: dict[str, str]) -> bytes:
        data = urllib.parse.urlencode(form).encode()
        with urllib.request.urlopen(urllib.request.Request(self.url(path), data=data), timeout=10) as response:
            return response.read()

    def state(self) -> Any:
        return self.get_json("/__admin/state")

    def healthy(self) -> bool:
        return self.process.poll() is None and self.get_json("/__admin/health") is not None


def start_server(*flags: str, **env: str) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "instancemock", "serve", "--port", str(port), "--seed", "7", "--strict"]
    command += ["--now", "2026-01-01T00:00:00Z", "--log-level", "WARNING", *flags]
    environment = {**os.environ, "INSTANCEMOCK_KIANDA_TOKEN_LIFETIME": "3600", **env}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server, closed by stop_server
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    server = Server(f"http://127.0.0.1:{port}", port, process, log)
    try:
        wait_healthy(server.base, process)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: Server) -> str:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    output = server.output()
    server.log.close()
    return output


def credentials(server: Server) -> dict[str, dict[str, Any]]:
    return {api["name"]: api["credentials"] for api in server.get_json("/")["apis"]}


def kianda_headers(server: Server) -> dict[str, str]:
    login = credentials(server)["kianda"]
    form = {k: login[k] for k in ("username", "password", "grant_type", "scope")}
    token = json.loads(server.post_form("/kianda/Token", form))["access_token"]
    return {"Authorization": f"Bearer {token}"}


def barium_headers(server: Server) -> dict[str, str]:
    login = credentials(server)["barium"]
    form = {key: login[key] for key in ("APIKey", "Username", "Password")}
    ticket = server.post_form("/barium/api/v1.1/Authenticate", form).decode()  # the bare ticket, text/plain
    return {"ticket": ticket}


def altinn_headers(server: Server, token_url: str = "service_owner_token_url") -> dict[str, str]:
    url = urllib.parse.urlsplit(credentials(server)["altinn-storage"][token_url])
    with urllib.request.urlopen(server.url(f"{url.path}?{url.query}"), timeout=10) as response:
        token = response.read().decode().strip().strip('"')
    return {"Authorization": f"Bearer {token}"}


def auth_headers(server: Server, api: str) -> dict[str, str]:
    """Log in the platform's own way: an OAuth2 token, a Barium ticket, an Altinn JWT."""
    if api == "kianda":
        return kianda_headers(server)
    if api == "barium":
        return barium_headers(server)
    if api == "altinn-app":
        return altinn_headers(server, "person_token_url")
    if api == "altinn-storage":
        return altinn_headers(server)
    return {}
