"""Microsoft identity tokens from the Outlook add-in (Office single sign-on).

Office.auth.getAccessToken() gives the add-in a token that Microsoft Entra ID issued for this
service's app registration. We check it the way Microsoft's guidance says: the RS256 signature
against the published key set (found through the authority's OpenID metadata, which msal
reads), the issuer (the token's own tenant, or the one tenant configured), the audience (our
client id), the expiry, and the `access_as_user` scope. A valid token maps to a user:
`ms:<tenant id>:<object id>`, which is also the rate-limit identity.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import jwt
import requests
from flask import current_app

from ..errors import APIError

ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 60  # clock skew between Entra ID and this machine
_GUID_LEN = 36
_lock = threading.Lock()


@dataclass(frozen=True)
class MicrosoftUser:
    tenant_id: str
    object_id: str
    name: str | None
    username: str | None

    @property
    def identity(self) -> str:
        return f"ms:{self.tenant_id}:{self.object_id}"


def _unauthorized(code: str, message: str) -> APIError:
    return APIError(401, code, message, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


def discover_jwks_url(authority_host: str, tenant: str, timeout: float = 5.0) -> str:
    """The key-set URL from the authority's OpenID Connect metadata (msal's tenant discovery)."""
    from msal.authority import tenant_discovery

    endpoint = f"{authority_host}/{tenant}/v2.0/.well-known/openid-configuration"
    with requests.Session() as http:
        meta = tenant_discovery(endpoint, http, timeout=timeout)
    return meta["jwks_uri"]


class MicrosoftTokenValidator:
    def __init__(self, client_id: str, tenant: str, authority_host: str, jwks_url: str | None,
                 extra_audiences: list[str] | None = None, required_scope: str | None = "access_as_user"):
        self.client_id = client_id
        self.tenant = tenant
        self.authority_host = authority_host.rstrip("/")
        self._jwks_url = jwks_url
        self._jwks: jwt.PyJWKClient | None = None
        self.extra_audiences = list(extra_audiences or [])
        self.required_scope = required_scope

    @property
    def single_tenant(self) -> bool:
        return len(self.tenant) == _GUID_LEN and self.tenant.count("-") == 4

    def _key_client(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            url = self._jwks_url or discover_jwks_url(self.authority_host, self.tenant)
            # Keys are cached; a token with an unseen key id makes the client fetch again once
            # (Microsoft rotates keys), at most once per cooldown.
            self._jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)
        return self._jwks

    def audience_ok(self, aud) -> bool:
        auds = aud if isinstance(aud, list) else [aud]
        for a in auds:
            if not isinstance(a, str):
                continue
            if a == self.client_id or a in self.extra_audiences:
                return True
            # v1 tokens carry the Application ID URI: api://<host>/<client id>
            if a.startswith("api://") and a.endswith("/" + self.client_id):
                return True
        return False

    def issuers_for(self, tid: str) -> set[str]:
        return {f"{self.authority_host}/{tid}/v2.0", f"https://sts.windows.net/{tid}/"}

    def validate(self, token: str) -> MicrosoftUser:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise _unauthorized("invalid_token", "the sign-in token is not a well-formed JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise _unauthorized("invalid_token", f"the sign-in token is signed with "
                                f"{header.get('alg')!r}; only RS256 is accepted")
        try:
            key = self._key_client().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as e:
            raise APIError(503, "identity_keys_unavailable", "Microsoft's signing keys could not be "
                           f"fetched ({e}); try again shortly") from None
        except (jwt.PyJWKClientError, jwt.DecodeError):
            raise _unauthorized("unknown_signing_key", f"the sign-in token is signed with key "
                                f"{header.get('kid')!r}, which is not in Microsoft's published key set") from None
        except (requests.RequestException, ValueError, KeyError) as e:
            raise APIError(503, "identity_keys_unavailable", "Microsoft's OpenID metadata could not "
                           f"be read ({type(e).__name__}); try again shortly") from None
        try:
            claims = jwt.decode(token, key.key, algorithms=ALGORITHMS, leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iss", "aud", "tid", "oid"],
                                         "verify_aud": False, "verify_iss": False})
        except jwt.ExpiredSignatureError:
            raise _unauthorized("token_expired", "the sign-in token has expired; Outlook fetches a "
                                "new one when the pane is reopened") from None
        except jwt.InvalidSignatureError:
            raise _unauthorized("invalid_signature", "the sign-in token's signature does not match "
                                "Microsoft's key") from None
        except jwt.MissingRequiredClaimError as e:
            raise _unauthorized("invalid_token", f"the sign-in token has no {e.claim!r} claim") from None
        except jwt.InvalidTokenError as e:
            raise _unauthorized("invalid_token", f"the sign-in token is not valid: {e}") from None
        if not self.audience_ok(claims["aud"]):
            raise _unauthorized("wrong_audience", f"the sign-in token was issued for another "
                                f"application ({claims['aud']!r}), not this service ({self.client_id})")
        tid = str(claims["tid"])
        if self.single_tenant and tid != self.tenant:
            raise _unauthorized("wrong_tenant", f"the sign-in token is from tenant {tid}; this "
                                f"service accepts only {self.tenant}")
        if claims["iss"] not in self.issuers_for(tid):
            raise _unauthorized("wrong_issuer", f"the sign-in token's issuer {claims['iss']!r} is "
                                "not Microsoft's issuer for its tenant")
        if self.required_scope:
            scopes = str(claims.get("scp", "")).split()
            if self.required_scope not in scopes:
                raise APIError(403, "missing_scope", f"the sign-in token lacks the "
                               f"'{self.required_scope}' scope; grant it to the add-in")
        return MicrosoftUser(tenant_id=tid, object_id=str(claims["oid"]), name=claims.get("name"),
                             username=claims.get("preferred_username") or claims.get("upn"))


def validator() -> MicrosoftTokenValidator:
    app = current_app
    v = app.extensions.get("pitchlint_ms_validator")
    if v is not None:
        return v
    if not app.config.get("MS_CLIENT_ID"):
        raise _unauthorized("signin_not_configured", "this service does not accept Microsoft "
                            "sign-in (PITCHLINT_MS_CLIENT_ID is not set); use an API key instead")
    with _lock:
        v = app.extensions.get("pitchlint_ms_validator")
        if v is None:
            v = MicrosoftTokenValidator(
                app.config["MS_CLIENT_ID"], app.config["MS_TENANT"], app.config["MS_AUTHORITY_HOST"],
                app.config.get("MS_JWKS_URL"), app.config.get("MS_AUDIENCES"),
                app.config.get("MS_REQUIRED_SCOPE"))
            app.extensions["pitchlint_ms_validator"] = v
    return v


def graph_token_on_behalf_of(user_token: str, tenant_id: str, scopes: list[str]) -> str:
    """A Microsoft Graph token for the signed-in user (on-behalf-of flow), for inbox scanning.

    Needs PITCHLINT_MS_CLIENT_SECRET; the add-in's own token is never sent anywhere else.
    """
    import msal

    cfg = current_app.config
    if not cfg.get("MS_CLIENT_SECRET"):
        raise APIError(503, "graph_not_configured", "Microsoft Graph access needs "
                       "PITCHLINT_MS_CLIENT_SECRET (the app registration's client secret)")
    cca = msal.ConfidentialClientApplication(
        cfg["MS_CLIENT_ID"], client_credential=cfg["MS_CLIENT_SECRET"],
        authority=f"{cfg['MS_AUTHORITY_HOST']}/{tenant_id}")
    result = cca.acquire_token_on_behalf_of(user_token, scopes)
    if "access_token" not in result:
        raise APIError(403, "consent_required", "Microsoft did not grant Graph access for this user: "
                       f"{result.get('error_description') or result.get('error')}")
    return result["access_token"]
