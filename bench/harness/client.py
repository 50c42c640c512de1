"""Small synchronous HTTP calls for set-up, and the demo logins of a running instancemock.

The logins come from the server itself (`GET /` lists each API's demo credentials and token
URLs), so the benchmark follows the fixtures instead of repeating them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None, timeout: float = 120
) -> Answer:
    """One request; an HTTP error status is an answer like any other, not an exception."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers.items()), error.read())


def answers(url: str, headers: dict[str, str] | None = None, want: int | None = None) -> bool:
    """True once `url` answers at all (or with `want`); connection errors mean not yet."""
    try:
        status = call("GET", url, headers, timeout=5).status
    except OSError:
        return False
    return want is None or status == want


def form(values: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(values).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Logins:
    """Credentials for each API, obtained from one running instancemock the way a client would."""

    base: str
    _apis: dict[str, dict[str, Any]] = field(default_factory=dict)

    def credentials(self, api: str) -> dict[str, Any]:
        if not self._apis:
            listing = call("GET", f"{self.base}/").json()
            self._apis = {entry["name"]: entry.get("credentials", {}) for entry in listing["apis"]}
        return self._apis[api]

    def local(self, url: str) -> str:
        """The same path and query on this server (the listing may name the host `localhost`)."""
        parts = urllib.parse.urlsplit(url)
        return f"{self.base}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def kianda_token(self) -> str:
        """OAuth2 password grant at POST /kianda/Token (tokens live 299 s: get one per wrk run)."""
        answer = call("POST", f"{self.base}/kianda/Token", FORM, form(self.credentials("kianda")))
        return str(expect(answer, 200, "Kianda login").json()["access_token"])

    def barium_ticket(self) -> str:
        """POST /barium/api/v1.1/authenticate with the demo API key, user and password."""
        given = self.credentials("barium")
        fields = {key: given[key] for key in ("APIKey", "Username", "Password")}  # as GET / and the spec name them
        answer = call("POST", f"{self.base}/barium/api/v1.1/authenticate", FORM, form(fields))
        return expect(answer, 200, "Barium login").body.decode().strip()  # the bare ticket, text/plain

    def altinn_token(self, who: str) -> str:
        """A token from the mock's test token generator: `service_owner` (org ttd) or `person`."""
        url = self.local(self.credentials("altinn-storage")[f"{who}_token_url"])
        return expect(call("GET", url), 200, f"Altinn {who} token").body.decode().strip().strip('"')


def expect(answer: Answer, status: int, what: str) -> Answer:
    if answer.status != status:
        raise RuntimeError(f"{what}: expected {status}, got {answer.status}: {answer.body[:300]!r}")
    return answer
