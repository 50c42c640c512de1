"""Altinn tokens: the test token generator, the exchange, the JWKS, and checking a caller's token.

One RSA key signs every token the mock issues; it is a shared service of the state (`State.service`) so a token obtained
in one sandbox works in all (and in both Altinn APIs), and it is kept in the shared store
(`State.shared`) so replicas sharing a store sign with the same key. It is generated at start-up unless
`apis.altinn-storage.signing_key` names a PEM file. Tokens are verified with PyJWT against that
key; times are checked against the server's clock (`state.clock`), not the wall clock, so tests
can expire a token with `clock.advance()`.

Used by `storage.py` (which serves the token operations) and `app/` (which only
authenticates with `authenticate` and reads `Principal`).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import hmac
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from instancemock.core.context import Ctx, ctx
from instancemock.core.encoding import json_response
from instancemock.core.errors import Refusal
from instancemock.platforms.altinn import errors
from instancemock.platforms.altinn.domain.ids import is_organisation_number
from instancemock.platforms.altinn.domain.world import world_for
from instancemock.settings import Settings
from instancemock.world.state import State
from instancemock.world.store import VersionConflict

SERVICE = "altinn.signing"
PLATFORM = "altinn"
ISSUER_PATH = "/altinn/authentication/api/v1/openid/"
JWKS_PATH = "/altinn/authentication/api/v1/openid/.well-known/openid-configuration/jwks"
COOKIE = "AltinnStudioRuntime"
SERVICEOWNER_READ = "altinn:serviceowner/instances.read"
SERVICEOWNER_WRITE = "altinn:serviceowner/instances.write"
SYNC_ADAPTER = "altinn:storage/instances.syncadapter"
TEST_CONSUMER_ORG = "991825827"  # what the upstream generator puts in a personal token's consumer


# --- the key --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SigningKey:
    private: rsa.RSAPrivateKey = field(repr=False)
    kid: str

    @property
    def public(self) -> rsa.RSAPublicKey:
        return self.private.public_key()

    def jwk(self) -> dict[str, str]:
        numbers = self.public.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "alg": "RS256",
            "n": _b64(numbers.n),
            "e": _b64(numbers.e),
        }


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _make_key(settings: Settings, pem: bytes | None = None) -> SigningKey:
    """The configured key, else `pem` (the key replicas share), else a new one."""
    configured = settings.api_option("altinn-storage", "signing_key", None)
    if configured or pem:
        text = Path(configured).read_bytes() if configured else pem or b""
        loaded = serialization.load_pem_private_key(text, password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{configured}: the Altinn signing key must be an RSA private key")
        private = loaded
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    modulus = private.public_key().public_numbers().n
    kid = "instancemock-" + hashlib.sha256(str(modulus).encode()).hexdigest()[:12]
    return SigningKey(private, kid)


SHARED_KEY = ("keys", "signing")  # collection and key of the generated key in the shared store


@dataclass
class KeyAhead:
    """A new signing key, being made on a thread since the app was made (`warm_up`)."""

    made: concurrent.futures.Future[SigningKey]

    @classmethod
    def made_now(cls, settings: Settings) -> KeyAhead:
        made: concurrent.futures.Future[SigningKey] = concurrent.futures.Future()
        made.set_result(_make_key(settings))
        return cls(made)


def warm_up(state: State) -> None:
    """Begin making a new key while the specs load: generating a 2048-bit RSA key takes 0.1-0.8 s
    (OpenSSL, which lets other threads run), and `startup` would otherwise make it before the
    server listens. A configured key is only read: nothing to begin."""
    if state.settings.api_option("altinn-storage", "signing_key", None):
        return
    made: concurrent.futures.Future[SigningKey] = concurrent.futures.Future()

    def make() -> None:
        try:
            made.set_result(_make_key(state.settings))
        except BaseException as error:  # handed to `startup`, which raises it
            made.set_exception(error)

    threading.Thread(target=make, name="altinn-signing-key", daemon=True).start()
    state.provide(KeyAhead(made))


async def startup(state: State) -> None:
    """The key, made once: the first replica sharing a store writes the one it generated, the
    others read it, so a token issued by one verifies on all (a configured key is read by each)."""
    if state.settings.api_option("altinn-storage", "signing_key", None):
        signing_key(state)
        return
    shared = state.shared(PLATFORM)
    found = await shared.get(*SHARED_KEY)
    if found is None:
        mine = await asyncio.wrap_future(state.service(KeyAhead, lambda: KeyAhead.made_now(state.settings)).made)
        pem = mine.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            await shared.put(*SHARED_KEY, {"pem": pem.decode()}, expect=0)
            state.provide(mine)
            return
        except VersionConflict as lost:  # another replica wrote its key first: use that one
            found = lost.current
    assert found is not None
    state.provide(_make_key(state.settings, str(found.doc["pem"]).encode()))


def signing_key(state: State) -> SigningKey:
    """The one key (created on first use if start-up did not); both Altinn plugins may ask."""
    return state.service(SigningKey, lambda: _make_key(state.settings))


def issuer(origin: str) -> str:
    return origin + ISSUER_PATH


def issue(state: State, origin: str, claims: dict[str, Any], ttl: int) -> str:
    key = signing_key(state)
    now = int(state.clock.now().timestamp())
    payload = {**claims, "iat": now, "nbf": now, "exp": now + ttl, "iss": issuer(origin)}
    payload.setdefault("actual_iss", "altinn-test-tools")
    return jwt.encode(payload, key.private, algorithm="RS256", headers={"kid": key.kid})


# --- who is calling -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    """What Altinn components read from a token."""

    claims: dict[str, Any] = field(repr=False)
    org: str | None = None  # urn:altinn:org: set for service owners
    org_number: str | None = None
    user_id: int | None = None
    party_id: int | None = None
    auth_level: int = 0
    scope: str = ""  # the raw, space-separated scope claim
    system_user_id: str | None = None  # authorization_details[0].systemuser_id[0]
    system_user_org: str | None = None  # the organisation number that owns the system user

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        """`authorization_details` wins over every other claim (app-lib Authenticated.cs): a
        system user is neither a service owner nor a user, whatever else the token says."""
        scope = str(claims.get("scope") or claims.get("urn:altinn:scope") or "")
        level = _int(claims.get("urn:altinn:authlevel")) or 0
        system_user = system_user_of(claims)
        if system_user is not None:
            user_id, org_number = system_user
            return cls(claims=claims, auth_level=level, scope=scope, system_user_id=user_id, system_user_org=org_number)
        return cls(
            claims=claims,
            org=_claim_text(claims.get("urn:altinn:org")),
            org_number=_claim_text(claims.get("urn:altinn:orgNumber")),
            user_id=_int(claims.get("urn:altinn:userid")),
            party_id=_int(claims.get("urn:altinn:partyid")),
            auth_level=level,
            scope=scope,
        )

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    def has_scope(self, wanted: str) -> bool:
        """Storage's check: a case-insensitive substring match on the scope claim."""
        return wanted.lower() in self.scope.lower()

    @property
    def is_service_owner(self) -> bool:
        return self.org is not None

    @property
    def is_user(self) -> bool:
        return self.user_id is not None

    @property
    def is_sync_adapter(self) -> bool:
        return self.has_scope(SYNC_ADAPTER)

    @property
    def acts_as_service_owner(self) -> bool:
        """Storage's visibility rule: any `altinn:serviceowner` scope, or the sync adapter."""
        return self.has_scope("altinn:serviceowner") or self.is_sync_adapter

    @property
    def is_system_user(self) -> bool:
        return self.system_user_id is not None

    @property
    def actor(self) -> str:
        """What Storage writes in `createdBy`/`lastChangedBy`: the user id, else the org number,
        else the system user's id."""
        if self.user_id is not None:
            return str(self.user_id)
        return self.org_number or self.org or self.system_user_id or ""


SYSTEM_USER_TYPE = "urn:altinn:systemuser"
ORG_AUTHORITY = "iso6523-actorid-upis"


class InvalidSystemUser(ValueError):
    """`authorization_details` that app-lib would refuse (its AuthenticationContextException)."""


def system_user_of(claims: dict[str, Any]) -> tuple[str, str] | None:
    """(system user id, owning organisation number) of a system-user token, None for other tokens.

    app-lib's rules (Authenticated.cs): an object or a one-element array of type
    `urn:altinn:systemuser`, a non-empty `systemuser_id` and `system_id`, `systemuser_org` with
    authority `iso6523-actorid-upis` and a valid organisation number, and a valid organisation
    number as the `consumer` (the vendor). Broken details raise InvalidSystemUser.
    """
    details = claims.get("authorization_details")
    if details is None:
        return None
    if isinstance(details, list):
        if len(details) != 1:
            raise InvalidSystemUser("authorization_details must hold exactly one entry")
        details = details[0]
    if not isinstance(details, dict) or details.get("type") != SYSTEM_USER_TYPE:
        raise InvalidSystemUser(f"authorization_details must be of type {SYSTEM_USER_TYPE}")
    ids = details.get("systemuser_id")
    ids = [ids] if isinstance(ids, str) else ids
    if not isinstance(ids, list) or not ids or not str(ids[0]).strip():
        raise InvalidSystemUser("systemuser_id is missing")
    if not str(details.get("system_id") or "").strip():
        raise InvalidSystemUser("system_id is missing")
    owner = details.get("systemuser_org")
    if not isinstance(owner, dict) or owner.get("authority") != ORG_AUTHORITY:
        raise InvalidSystemUser(f"systemuser_org must have the authority {ORG_AUTHORITY}")
    org_number = _org_number(owner.get("ID"))
    consumer = claims.get("consumer")
    if org_number is None or _org_number(consumer.get("ID") if isinstance(consumer, dict) else None) is None:
        raise InvalidSystemUser("systemuser_org and consumer must name valid organisation numbers")
    return str(ids[0]), org_number


def _org_number(identifier: Any) -> str | None:
    """`0192:<9 digits>` with a valid check digit -> the number; else None."""
    number = str(identifier or "").rpartition(":")[2]
    return number if is_organisation_number(number) else None


def _claim_text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def verify(state: State, token: str) -> Principal | None:
    """The caller of a token this server signed and that has not expired; None otherwise."""
    key = signing_key(state)
    known = _verified.get(token)
    if known is not None and known[0] is key:
        principal = known[1]
    else:
        try:
            claims = jwt.decode(
                token,
                key.public,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
            principal = Principal.from_claims(claims)  # broken system-user details: no valid token (app-lib)
        except (jwt.PyJWTError, InvalidSystemUser):
            return None
        if len(_verified) >= VERIFIED_TOKENS:
            del _verified[next(iter(_verified))]
        _verified[token] = (key, principal)
    return principal if not _expired(state, principal.claims) else None


VERIFIED_TOKENS = 1024
# Tokens whose RS256 signature was already checked, with the key that checked it and the caller
# they name: the RSA check was a seventh of an Altinn request's time, and clients send the same
# token again and again (reading the claims into a `Principal` again was another 2-3% of a Storage
# query). Expiry is still checked on every use; a token checked by another server's key is checked
# again. Nothing changes a `Principal`'s claims (readers copy what they pass on).
_verified: dict[str, tuple[Any, Principal]] = {}


def verified_claims(state: State, token: str) -> dict[str, Any] | None:
    """The claims of a token `verify` accepts (a copy the caller may change)."""
    principal = verify(state, token)
    return dict(principal.claims) if principal is not None else None


def _expired(state: State, claims: dict[str, Any]) -> bool:
    exp = claims.get("exp")
    return isinstance(exp, int | float) and state.clock.now().timestamp() >= exp


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


def default_principal(state: State) -> Principal:
    """`--auth off` without a token: the first service owner with read and write scopes."""
    org = next(iter(world_for(state.settings).orgs.values()))
    return Principal.from_claims(
        {
            "urn:altinn:org": org.org,
            "urn:altinn:orgNumber": org.org_number,
            "urn:altinn:authlevel": 3,
            "scope": f"{SERVICEOWNER_READ} {SERVICEOWNER_WRITE}",
        }
    )


def _needs_altinn_token(c: Ctx) -> bool:
    declared = c.op.spec.get("security")
    if declared is None:
        return True  # the document-level default: the Altinn bearer token or cookie
    return any("altinnBearer" in requirement or "altinnCookie" in requirement for requirement in declared)


async def authenticate(request: web.Request, c: Ctx) -> web.StreamResponse | None:
    """Sets `c.principal` to a `Principal`; 401 (the platform's shape) without a valid token."""
    if not _needs_altinn_token(c):
        return None
    token = bearer_token(request)
    if not c.state.settings.auth:
        unverified = _unverified(token) if token else None
        c.principal = _lenient_principal(unverified) if unverified else default_principal(c.state)
        return None
    principal = verify(c.state, token) if token else None
    if principal is None:
        raise Refusal(401)
    c.principal = principal
    return None


def _lenient_principal(claims: dict[str, Any]) -> Principal:
    """`--auth off`: whatever the token says, broken system-user details read as no details."""
    try:
        return Principal.from_claims(claims)
    except InvalidSystemUser:
        return Principal.from_claims({k: v for k, v in claims.items() if k != "authorization_details"})


def _unverified(token: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def principal_of(request: web.Request) -> Principal:
    principal = ctx(request).principal
    assert isinstance(principal, Principal), "authenticate() runs before every Altinn handler"
    return principal


# --- antiforgery (cookie sessions of the App API) --------------------------------------------

ANTIFORGERY_COOKIE = "AS-XSRF-TOKEN"  # ASP.NET antiforgery's cookie token (HttpOnly)
XSRF_COOKIE = "XSRF-TOKEN"  # the request token, readable by JavaScript: axios copies it into...
XSRF_HEADER = "X-XSRF-TOKEN"  # ...this header on unsafe requests
SAFE_METHODS = frozenset({"GET", "HEAD", "TRACE", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class AntiforgeryKey:
    """The secret that pairs a request token with its cookie token (one per server, like the signing key)."""

    secret: bytes = field(repr=False)


def _request_token(state: State, cookie_token: str) -> str:
    key = state.service(AntiforgeryKey, lambda: _antiforgery_key(state)).secret
    digest = hmac.new(key, cookie_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _antiforgery_key(state: State) -> AntiforgeryKey:
    """Derived from the signing key, which replicas sharing a store share (`startup`): a token pair
    one replica handed out holds on every other."""
    private = signing_key(state).private.private_numbers().d
    return AntiforgeryKey(hashlib.sha256(b"antiforgery:%d" % private).digest())


def set_antiforgery_cookies(response: web.StreamResponse, state: State, *, secure: bool) -> None:
    """What app-lib's HomeController does on the start page: a new cookie token, and the request
    token paired with it in a cookie JavaScript can read."""
    cookie_token = secrets.token_urlsafe(32)
    response.set_cookie(ANTIFORGERY_COOKIE, cookie_token, path="/", httponly=True, samesite="Strict", secure=secure)
    response.set_cookie(XSRF_COOKIE, _request_token(state, cookie_token), path="/", samesite="Lax", secure=secure)


def antiforgery_holds(request: web.Request, state: State) -> bool:
    """ValidateAntiforgeryTokenIfAuthCookie: only unsafe methods of callers that send the runtime
    cookie are checked; their `X-XSRF-TOKEN` must be the request token of their `AS-XSRF-TOKEN`."""
    if request.method.upper() in SAFE_METHODS or COOKIE not in request.cookies:
        return True
    cookie_token = request.cookies.get(ANTIFORGERY_COOKIE, "")
    sent = request.headers.get(XSRF_HEADER, "")
    return bool(cookie_token and sent) and hmac.compare_digest(sent, _request_token(state, cookie_token))


# --- the test token generator ---------------------------------------------------------------


def split_scopes(text: str) -> str:
    return " ".join(s for s in re.split(r"[,\s]+", text) if s)


def enterprise_claims(org: str | None, org_number: str, scopes: str) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "scope": split_scopes(scopes),
        "token_type": "Bearer",
        "client_id": str(uuid.uuid4()),
        "jti": str(uuid.uuid4()),
        "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{org_number}"},
        "urn:altinn:orgNumber": org_number,
        "urn:altinn:authenticatemethod": "maskinporten",
        "urn:altinn:authlevel": 3,
    }
    if org:
        claims["urn:altinn:org"] = org
    return claims


def personal_claims(user_id: int, party_id: int, pid: str, scopes: str, auth_level: int) -> dict[str, Any]:
    acr = {3: "idporten-loa-substantial", 4: "idporten-loa-high"}.get(auth_level, "idporten-loa-low")
    claims: dict[str, Any] = {
        "urn:altinn:authenticatemethod": "NotDefined",
        "urn:altinn:authlevel": auth_level,
        "client_amr": "virksomhetssertifikat",
        "pid": pid,
        "token_type": "Bearer",
        "client_id": str(uuid.uuid4()),
        "acr": acr,
        "scope": split_scopes(scopes),
        "client_orgno": TEST_CONSUMER_ORG,
        "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{TEST_CONSUMER_ORG}"},
    }
    if user_id:
        claims["nameid"] = user_id
        claims["urn:altinn:userid"] = user_id
    if party_id:
        claims["urn:altinn:partyid"] = party_id
    return claims


def system_user_claims(
    scopes: str, vendor: str, owner: str, system_user_id: str, client_id: str, supplier: str | None = None
) -> dict[str, Any]:
    """What AltinnTestTools' GetSystemUserToken puts in a token (Services/Token.cs)."""
    claims: dict[str, Any] = {
        "scope": split_scopes(scopes),
        "token_type": "Bearer",
        "client_id": client_id,
        "jti": str(uuid.uuid4()),
        "consumer": {"authority": ORG_AUTHORITY, "ID": f"0192:{vendor}"},
        "authorization_details": [
            {
                "type": SYSTEM_USER_TYPE,
                "systemuser_id": [system_user_id],
                "systemuser_org": {"authority": ORG_AUTHORITY, "ID": f"0192:{owner}"},
                "system_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"altinn-system:{client_id}")),
            }
        ],
        "urn:altinn:authenticatemethod": "maskinporten",
        "urn:altinn:authlevel": 3,
    }
    if supplier:
        claims["supplier"] = {"authority": ORG_AUTHORITY, "ID": f"0192:{supplier}"}
    return claims


def _token_response(token: str) -> web.Response:
    return web.Response(text=token, content_type="text/plain", charset="utf-8")


async def get_enterprise_token(request: web.Request) -> web.Response:
    c = ctx(request)
    q = c.args.query
    claims = enterprise_claims(q.get("org"), str(q["orgNo"]), str(q["scopes"]))
    return _token_response(issue(c.state, c.origin, claims, int(q.get("ttl", 1800))))


async def get_personal_token(request: web.Request) -> web.Response:
    c = ctx(request)
    q = c.args.query
    claims = personal_claims(
        int(q["userId"]), int(q["partyId"]), str(q["pid"]), str(q["scopes"]), int(q.get("authLvl", 3))
    )
    return _token_response(issue(c.state, c.origin, claims, int(q.get("ttl", 1800))))


async def get_system_user_token(request: web.Request) -> web.Response:
    """A system user's token; 400 (the generator's error list) when an organisation number is invalid."""
    c = ctx(request)
    q = c.args.query
    vendor, owner = str(q.get("orgNo", TEST_CONSUMER_ORG)), str(q.get("systemUserOrg", TEST_CONSUMER_ORG))
    supplier = q.get("supplierOrgNo")
    bad = {
        name: "Parameter was supplied with a invalid value"
        for name, value in (("orgNo", vendor), ("systemUserOrg", owner), ("supplierOrgNo", supplier))
        if value is not None and not is_organisation_number(str(value))
    }
    if bad:
        return json_response(bad, status=400)
    client_id = str(q.get("clientId") or uuid.uuid4())
    claims = system_user_claims(
        str(q.get("scopes", "altinn:enduser")), vendor, owner, str(q["systemUserId"]), client_id, supplier
    )
    return _token_response(issue(c.state, c.origin, claims, int(q.get("ttl", 1800))))


# --- OpenID metadata and the exchange -------------------------------------------------------


async def get_openid_configuration(request: web.Request) -> web.Response:
    c = ctx(request)
    return json_response(
        {
            "issuer": issuer(c.origin),
            "jwks_uri": c.origin + JWKS_PATH,
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": [
                "altinn:instances.read",
                "altinn:instances.write",
                SERVICEOWNER_READ,
                SERVICEOWNER_WRITE,
            ],
            "claims_supported": [
                "urn:altinn:userid",
                "urn:altinn:partyid",
                "urn:altinn:authlevel",
                "urn:altinn:org",
                "urn:altinn:orgNumber",
                "pid",
                "scope",
            ],
        }
    )


async def get_jwks(request: web.Request) -> web.Response:
    return json_response({"keys": [signing_key(ctx(request).state).jwk()]})


EXCHANGE_TTL = 1800
AUTH_LEVELS = {"idporten-loa-high": 4, "level4": 4, "idporten-loa-substantial": 3, "level3": 3}


async def exchange_token(request: web.Request) -> web.Response:
    """Maskinporten / ID-porten token in, Altinn token out (see the spec's description)."""
    c = ctx(request)
    token = bearer_token(request)
    own = verified_claims(c.state, token) if token else None
    incoming = own or (_unverified(token) if token and token.count(".") == 2 else None)
    if incoming is None or _expired(c.state, incoming):
        response = errors.json_string(401, "The token is expired or not valid.")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    if own is not None:
        claims = {k: v for k, v in own.items() if k not in ("iat", "nbf", "exp", "iss")}
        return _token_response(issue(c.state, c.origin, claims, EXCHANGE_TTL))
    world = world_for(c.state.settings)
    scopes = str(incoming.get("scope") or "")
    if c.args.path["tokenProvider"] == "maskinporten" and "authorization_details" in incoming:
        try:
            system_user_of(incoming)
        except InvalidSystemUser as error:
            return errors.json_string(400, f"Unable to exchange token: {error}.")
        claims = {k: incoming[k] for k in ("scope", "client_id", "consumer", "authorization_details") if k in incoming}
        claims |= {"token_type": "Bearer", "urn:altinn:authenticatemethod": "maskinporten", "urn:altinn:authlevel": 3}
    elif c.args.path["tokenProvider"] == "maskinporten":
        consumer = incoming.get("consumer")
        consumer = consumer if isinstance(consumer, dict) else {}
        org_number = str(consumer.get("ID") or "").rpartition(":")[2]
        if not org_number.isdigit():
            return errors.json_string(400, "Unable to exchange token: the token has no consumer organisation.")
        known = world.org_by_number(org_number)
        org = "ttd" if c.args.query.get("test") else known.org if known else None
        claims = enterprise_claims(org, org_number, scopes)
    else:
        pid = str(incoming.get("pid") or "")
        user = world.user_by_person_number(pid)
        if user is None:
            return errors.json_string(400, f"Unable to exchange token: no user found for pid {pid}.")
        level = AUTH_LEVELS.get(str(incoming.get("acr") or "").lower(), 3)
        claims = personal_claims(user.user_id, user.party_id, pid, scopes, level)
        claims["urn:altinn:authenticatemethod"] = "IdportenTestId"
    claims["actual_iss"] = "altinn-platform"
    return _token_response(issue(c.state, c.origin, claims, EXCHANGE_TTL))


# --- the index ------------------------------------------------------------------------------


def credentials(settings: Settings, origin: str) -> dict[str, Any]:
    """How to get a token, for `GET /`: a service-owner URL and one for a person who owns instances."""
    world = world_for(settings)
    org = next(iter(world.orgs.values()))
    user = next(u for u in world.users.values() if world.parties[u.party_id].type == "person")
    person = world.parties[user.party_id]
    base = origin + "/altinn/testtools/api"
    return {
        "scheme": "Authorization: Bearer <token> (or cookie AltinnStudioRuntime)",
        "service_owner_token_url": (
            f"{base}/GetEnterpriseToken?env=tt02&org={org.org}&orgNo={org.org_number}"
            f"&scopes={SERVICEOWNER_READ},{SERVICEOWNER_WRITE}&ttl=3600"
        ),
        "person_token_url": (
            f"{base}/GetPersonalToken?env=tt02&userId={user.user_id}&partyId={person.party_id}"
            f"&pid={person.person_number}&scopes=altinn:instances.read,altinn:instances.write&authLvl=3&ttl=3600"
        ),
        "person": {"name": person.name, "userId": user.user_id, "partyId": person.party_id},
        "jwks": origin + JWKS_PATH,
    }
