"""A local fake of the few Google and Microsoft endpoints inbox triage uses, served over HTTPS
on loopback, so that the real client libraries (google-api-python-client with google-auth and
httplib2; msal and requests for Microsoft Graph) talk to it exactly as they would to Google and
Microsoft. Used by tests/test_triage.py and benchmarks/triage.py.

    Google    /google/auth, /google/token (authorization code with PKCE, refresh tokens),
              /google/revoke (the app withdraws a grant)
    Gmail     /gmail/v1/users/me/{profile, labels, messages, messages/ID, messages/ID/modify,
              messages/ID/attachments/AID, threads/ID, history, watch}; /batch/gmail/v1 (batch
              requests: each request of a batch answered as if it came alone)
    Microsoft /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/oauth2/v2.0/authorize
              and /token (what msal asks)
    Graph     /graph/v1.0/me, /me/mailFolders/inbox/messages/delta, /me/messages/ID (GET,
              PATCH), /me/mailFolders/sentitems/messages, /me/outlook/masterCategories,
              /subscriptions; /$batch (JSON batching)

It can inject failures (a status for the next N matching requests, with Retry-After), slow
answers, expired access tokens and revoked grants; and it records what the triage did: every
label or category added to each message (and when), and every attachment download.

    with FakeMail() as fake:
        box = fake.account("me@buyer.example")
        msg = box.deliver("rep@vendor.example", "Quick question", "Hi, ...")
        token = fake.refresh_token("google", "me@buyer.example")
"""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import secrets
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

GOOGLE_CLIENT = ("fake-google-client.apps.example", "fake-google-secret")
MS_CLIENT = ("6f1c3a52-8d0e-4b7a-9c21-0a5d2e7f9b14", "fake-ms-secret")
MS_TENANT = "organizations"
TENANT_ID = "9b2d4e61-1f3a-4c8b-a7d5-3e6f8a0b2c4d"
GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.modify"
ACCESS_TOKEN_SECONDS = 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (its own CA), and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pitchlint fake mail")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "fake-cert.pem", directory / "fake-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def encode_body(body=None, text: str | None = None) -> tuple[bytes, str]:
    """An answer's bytes and Content-Type: plain text, JSON, or nothing."""
    if text is not None:
        return text.encode(), "text/plain"
    if body is None:
        return b"", "application/json"
    return json.dumps(body).encode(), "application/json; charset=UTF-8"


@dataclass
class Message:
    id: str
    thread_id: str
    sender: str
    to: str
    subject: str
    text: str | None
    html: str | None
    headers: dict
    received: float                    # time.time() when it arrived
    seq: int                           # the mailbox's change sequence (historyId, delta token)
    labels: set = field(default_factory=set)          # Gmail label ids / Outlook categories
    charset: str = "utf-8"
    raw_body: bytes | None = None      # a body in another encoding (charset above)
    attachment_bytes: int = 0
    sent: bool = False
    reply: bool = False


class Account:
    """One person's mailbox (seen as Gmail through Google's token, as Outlook through Microsoft's)."""

    def __init__(self, fake: "FakeMail", address: str):
        self.fake = fake
        self.address = address
        self.messages: dict[str, Message] = {}
        self.order: list[str] = []
        self.seq = 1000
        self.history: list[tuple[int, str]] = []   # (seq, message id) of inbox arrivals
        self.history_floor = 0                      # history before this seq is gone (404 / 410)
        self.gmail_labels: dict[str, str] = {"INBOX": "INBOX", "SENT": "SENT", "DRAFT": "DRAFT"}
        self.categories: list[str] = []
        self.label_events: dict[str, list[tuple[float, str]]] = {}   # message id -> (time, label)
        self.modify_calls: dict[str, int] = {}
        self.attachment_downloads = 0
        self.watches = 0
        self.subscriptions: list[dict] = []

    def _new_id(self) -> str:
        return secrets.token_hex(8)

    def deliver(self, sender: str, subject: str, text: str | None = None, *, html: str | None = None,
                headers: dict | None = None, reply_to: str | None = None, charset: str = "utf-8",
                raw_body: bytes | None = None, attachment_bytes: int = 0,
                received: float | None = None) -> str:
        """A message arriving in the inbox (a reply in `reply_to`'s thread when given)."""
        with self.fake.lock:
            mid = self._new_id()
            thread = self.messages[reply_to].thread_id if reply_to else mid
            self.seq += 1
            msg = Message(mid, thread, sender, self.address, subject, text, html, dict(headers or {}),
                          received if received is not None else time.time(), self.seq, {"INBOX"},
                          charset, raw_body, attachment_bytes, reply=bool(reply_to))
            self.messages[mid] = msg
            self.order.append(mid)
            self.history.append((self.seq, mid))
            return mid

    def send(self, to: str, subject: str, text: str = "Hello", reply_to: str | None = None) -> str:
        """A message the owner sent (in Sent; starts a thread unless it replies to one)."""
        with self.fake.lock:
            mid = self._new_id()
            thread = self.messages[reply_to].thread_id if reply_to else mid
            self.seq += 1
            msg = Message(mid, thread, self.address, to, subject, text, None, {}, time.time(), self.seq,
                          {"SENT"}, sent=True, reply=bool(reply_to))
            self.messages[mid] = msg
            self.order.append(mid)
            return mid

    def delete(self, mid: str) -> None:
        with self.fake.lock:
            self.messages.pop(mid, None)

    def our_labels(self, mid: str) -> list[str]:
        """The Pitchlint labels (Gmail) or categories (Outlook) on a message, by name."""
        msg = self.messages[mid]
        names = {v: k for k, v in self.gmail_labels.items()}
        return sorted(n for n in (names.get(l, l) for l in msg.labels) if n.startswith("Pitchlint/"))

    def thread_messages(self, thread_id: str) -> list[Message]:
        return [self.messages[m] for m in self.order if m in self.messages and self.messages[m].thread_id == thread_id]


class FakeMail:
    def __init__(self):
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.refresh_tokens: dict[str, tuple[str, str]] = {}    # token -> (provider, address)
        self.access_tokens: dict[str, tuple[str, str, float]] = {}
        self.codes: dict[str, dict] = {}
        self.delta_rounds: dict[str, tuple[list[str], int]] = {}
        self.faults: list[dict] = []
        # (time, method, path, status) of every request, each of a batch's requests too
        self.requests: list[tuple[float, str, str, int]] = []
        self.http_requests: list[tuple[float, str, str, int]] = []   # what came over HTTP
        self.record_requests = True
        self.next_consent = {"google": None, "microsoft": None}  # address a sign-in consents as
        self.revoked: list[str] = []    # addresses whose Google grant the app withdrew
        self._dir = tempfile.TemporaryDirectory(prefix="pitchlint-fakemail-")
        self.ca_bundle, key = _certificate(Path(self._dir.name))
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        # A client that hangs up mid-answer (a timeout, a SIGKILLed worker) is not an error here.
        self.server.handle_error = lambda request, client_address: None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca_bundle, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- life ------------------------------------------------------------------------------

    def start(self) -> "FakeMail":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._dir.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def config(self) -> dict:
        """The service settings that point the real clients here."""
        return {"GOOGLE_CLIENT_ID": GOOGLE_CLIENT[0], "GOOGLE_CLIENT_SECRET": GOOGLE_CLIENT[1],
                "GOOGLE_AUTH_URI": f"{self.url}/google/auth", "GOOGLE_TOKEN_URI": f"{self.url}/google/token",
                "GOOGLE_REVOKE_URI": f"{self.url}/google/revoke",
                "GMAIL_API_URL": f"{self.url}/", "MS_CLIENT_ID": MS_CLIENT[0],
                "MS_CLIENT_SECRET": MS_CLIENT[1], "MS_AUTHORITY_HOST": self.url, "MS_TENANT": MS_TENANT,
                "GRAPH_URL": f"{self.url}/graph/v1.0", "TRIAGE_CA_BUNDLE": str(self.ca_bundle)}

    # --- people and grants -----------------------------------------------------------------

    def account(self, address: str) -> Account:
        with self.lock:
            if address not in self.accounts:
                self.accounts[address] = Account(self, address)
            return self.accounts[address]

    def refresh_token(self, provider: str, address: str) -> str:
        """A refresh token the person granted Pitchlint (as connecting would give)."""
        self.account(address)
        token = f"rt-{provider}-{secrets.token_urlsafe(16)}"
        with self.lock:
            self.refresh_tokens[token] = (provider, address)
        return token

    def revoke(self, address: str) -> None:
        """The person withdraws Pitchlint's access: refresh and access tokens stop working."""
        with self.lock:
            for t in [t for t, (_, a) in self.refresh_tokens.items() if a == address]:
                del self.refresh_tokens[t]
            for t in [t for t, (_, a, _) in self.access_tokens.items() if a == address]:
                del self.access_tokens[t]

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now expired (Gmail and Graph answer 401)."""
        with self.lock:
            self.access_tokens = {t: (p, a, 0.0) for t, (p, a, _) in self.access_tokens.items()}

    def fail(self, path_pattern: str, status: int, times: int = 1, retry_after: str | None = None,
             method: str | None = None) -> None:
        """Answer `status` to the next `times` requests whose path matches the pattern."""
        with self.lock:
            self.faults.append({"re": re.compile(path_pattern), "status": status, "times": times,
                                "retry_after": retry_after, "method": method, "delay": 0.0})

    def slow(self, path_pattern: str, seconds: float, times: int = 1) -> None:
        with self.lock:
            self.faults.append({"re": re.compile(path_pattern), "status": None, "times": times,
                                "retry_after": None, "method": None, "delay": seconds})

    def hits(self, pattern: str, method: str | None = None) -> list[tuple[float, str, str, int]]:
        rx = re.compile(pattern)
        return [r for r in list(self.requests) if rx.search(r[2]) and (method is None or r[1] == method)]

    # --- tokens ----------------------------------------------------------------------------

    def _issue(self, provider: str, address: str) -> str:
        token = f"at-{provider}-{secrets.token_urlsafe(16)}"
        self.access_tokens[token] = (provider, address, time.time() + ACCESS_TOKEN_SECONDS)
        return token

    def who(self, provider: str, authorization: str | None) -> Account | None:
        token = (authorization or "")[7:] if (authorization or "").startswith("Bearer ") else ""
        with self.lock:
            hit = self.access_tokens.get(token)
        if hit is None or hit[0] != provider or hit[2] < time.time():
            return None
        return self.accounts.get(hit[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An answer goes out as two writes (headers, then body): with Nagle's algorithm on, the body
    # waits for the client's delayed ACK of the headers, 40 ms a request, as no real server does.
    disable_nagle_algorithm = True
    fake: FakeMail

    def log_message(self, *args):  # quiet
        pass

    # --- plumbing --------------------------------------------------------------------------

    def _send(self, status: int, body=None, headers: dict | None = None, text: str | None = None):
        data, ctype = encode_body(body, text)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        if self.fake.record_requests:
            self.fake.requests.append((time.time(), self.command, self.path, status))
            self.fake.http_requests.append((time.time(), self.command, self.path, status))

    def _error(self, status: int, message: str, reason: str = "failed", headers=None):
        self._send(status, {"error": {"code": status, "message": message,
                                      "errors": [{"reason": reason, "message": message}]}}, headers)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _json(self) -> dict:
        try:
            return json.loads(self._body() or b"{}")
        except ValueError:
            return {}

    def _form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self._body().decode()).items()}

    def _fault(self) -> bool:
        with self.fake.lock:
            for f in self.fake.faults:
                if f["times"] > 0 and f["re"].search(self.path) and f["method"] in (None, self.command):
                    f["times"] -= 1
                    fault = dict(f)
                    break
            else:
                return False
        if fault["delay"]:
            time.sleep(fault["delay"])
            return False
        self._body()
        headers = {"Retry-After": fault["retry_after"]} if fault["retry_after"] else None
        self._error(fault["status"], "injected failure", "rateLimitExceeded" if fault["status"] == 429
                    else "backendError", headers)
        return True

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PATCH(self):
        self._route("PATCH")

    def _route(self, method: str):
        if self._fault():
            return
        parts = urlsplit(self.path)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.query_lists = parse_qs(parts.query)
        try:
            if path == "/batch/gmail/v1" and method == "POST":
                return self._gmail_batch()
            if path.startswith("/google/"):
                return self._google(method, path, query)
            if path.startswith("/gmail/v1/users/me"):
                return self._gmail(method, path[len("/gmail/v1/users/me"):], query)
            if path.startswith("/graph/v1.0"):
                return self._graph(method, path[len("/graph/v1.0"):], query)
            if "/oauth2/v2.0/" in path or "/.well-known/" in path:
                return self._microsoft(method, path, query)
            self._error(404, f"no such endpoint {path}")
        except BrokenPipeError:
            pass

    # --- Gmail's batch requests -------------------------------------------------------------

    def _gmail_batch(self):
        """POST /batch/gmail/v1: a multipart/mixed body of application/http requests, each
        answered as if it came alone (its own Authorization, faults, 404s), in one
        multipart/mixed answer whose parts carry Content-ID <response-ID>."""
        import email.parser
        from http import HTTPStatus

        ctype = self.headers.get("Content-Type", "")
        outer = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + self._body())
        if not outer.is_multipart():
            return self._error(400, "a batch request is multipart/mixed", "badRequest")
        boundary = "batch_" + secrets.token_hex(12)
        out = []
        for part in outer.get_payload():
            raw = part.get_payload(decode=False)
            request_line, _, rest = raw.partition("\n")
            sub_method, target, _ = request_line.strip().split(" ", 2)
            inner = email.parser.Parser().parsestr(rest)
            body = inner.get_payload()
            sub = _SubRequest(self.fake, sub_method, target, inner,
                              body.encode() if isinstance(body, str) and inner.get("Content-Length") else b"")
            sub._route(sub_method)
            status, data, sub_type, sub_headers = sub.answer
            lines = [f"--{boundary}", "Content-Type: application/http",
                     f"Content-ID: <response-{(part.get('Content-ID') or '').strip('<>')}>", "",
                     f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Content-Type: {sub_type}",
                     f"Content-Length: {len(data)}"]
            lines += [f"{k}: {v}" for k, v in (sub_headers or {}).items()]
            out.append("\r\n".join(lines) + "\r\n\r\n" + data.decode() + "\r\n")
        data = ("".join(out) + f"--{boundary}--\r\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/mixed; boundary={boundary}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if self.fake.record_requests:
            self.fake.requests.append((time.time(), "POST", self.path, 200))
            self.fake.http_requests.append((time.time(), "POST", self.path, 200))

    def _graph_batch(self):
        """POST /graph/v1.0/$batch: JSON batching, each request (with the batch's Authorization)
        answered as if it came alone."""
        import email.message

        body = self._json()
        items = body.get("requests") or []
        if not isinstance(items, list) or len(items) > 20:
            return self._send(400, {"error": {"code": "BadRequest", "message": "1 to 20 requests"}})
        out = []
        for item in items:
            headers = email.message.Message()
            headers["Authorization"] = self.headers.get("Authorization", "")
            for k, v in (item.get("headers") or {}).items():
                headers[k] = v
            data = json.dumps(item["body"]).encode() if "body" in item else b""
            if data:
                headers["Content-Length"] = str(len(data))
            sub = _SubRequest(self.fake, item.get("method", "GET"), "/graph/v1.0" + item.get("url", ""),
                              headers, data)
            sub._route(sub.command)
            status, answer, _, sub_headers = sub.answer
            out.append({"id": item.get("id"), "status": status, "headers": dict(sub_headers or {}),
                        "body": json.loads(answer) if answer else None})
        return self._send(200, {"responses": out})

    # --- Google ----------------------------------------------------------------------------

    def _google(self, method, path, query):
        fake = self.fake
        if path == "/google/auth":
            address = fake.next_consent["google"]
            code = secrets.token_urlsafe(16)
            fake.codes[code] = {"provider": "google", "address": address, "query": query}
            target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", "")})
            return self._send(302, None, {"Location": target})
        if path == "/google/token":
            form = self._form()
            if (form.get("client_id"), form.get("client_secret")) != GOOGLE_CLIENT:
                return self._send(401, {"error": "invalid_client"})
            if form.get("grant_type") == "authorization_code":
                pending = fake.codes.pop(form.get("code", ""), None)
                if pending is None or pending["query"].get("redirect_uri") != form.get("redirect_uri"):
                    return self._send(400, {"error": "invalid_grant"})
                verifier = form.get("code_verifier", "")
                import hashlib

                if _b64url(hashlib.sha256(verifier.encode()).digest()) != pending["query"].get("code_challenge"):
                    return self._send(400, {"error": "invalid_grant", "error_description": "PKCE"})
                address = pending["address"]
                with fake.lock:
                    rt = fake.refresh_token("google", address)
                    at = fake._issue("google", address)
                return self._send(200, {"access_token": at, "refresh_token": rt, "expires_in": ACCESS_TOKEN_SECONDS,
                                        "token_type": "Bearer", "scope": f"openid email {GMAIL_SCOPE}"})
            if form.get("grant_type") == "refresh_token":
                with fake.lock:
                    grant = fake.refresh_tokens.get(form.get("refresh_token", ""))
                    if grant is None or grant[0] != "google":
                        return self._send(400, {"error": "invalid_grant",
                                                "error_description": "Token has been expired or revoked."})
                    at = fake._issue("google", grant[1])
                return self._send(200, {"access_token": at, "expires_in": ACCESS_TOKEN_SECONDS,
                                        "token_type": "Bearer", "scope": GMAIL_SCOPE})
            return self._send(400, {"error": "unsupported_grant_type"})
        if path == "/google/revoke" and method == "POST":
            token = self._form().get("token", "")
            with fake.lock:
                grant = fake.refresh_tokens.get(token)
                if grant is None or grant[0] != "google":
                    return self._send(400, {"error": "invalid_token", "error_description": "Token expired or revoked"})
                fake.revoked.append(grant[1])
                # The grant: its refresh token and the access tokens made from it.
                for t in [t for t, (p, a) in fake.refresh_tokens.items() if (p, a) == grant]:
                    del fake.refresh_tokens[t]
                for t in [t for t, (p, a, _) in fake.access_tokens.items() if (p, a) == grant]:
                    del fake.access_tokens[t]
            return self._send(200, {})
        self._error(404, "no such endpoint")

    # --- Gmail -----------------------------------------------------------------------------

    def _gmail_message(self, box: Account, msg: Message, fmt: str) -> dict:
        out = {"id": msg.id, "threadId": msg.thread_id, "labelIds": sorted(msg.labels),
               "historyId": str(msg.seq), "internalDate": str(int(msg.received * 1000)),
               "sizeEstimate": len(msg.text or msg.html or "") + msg.attachment_bytes}
        if fmt == "minimal":
            return out
        headers = [{"name": "From", "value": msg.sender}, {"name": "To", "value": msg.to},
                   {"name": "Subject", "value": msg.subject}]
        headers += [{"name": k, "value": v} for k, v in msg.headers.items()]
        parts = []
        if msg.raw_body is not None:
            parts.append({"partId": "0", "mimeType": "text/plain", "filename": "",
                          "headers": [{"name": "Content-Type", "value": f"text/plain; charset={msg.charset}"}],
                          "body": {"size": len(msg.raw_body), "data": _b64url(msg.raw_body)}})
        else:
            if msg.text is not None:
                data = msg.text.encode()
                parts.append({"partId": "0", "mimeType": "text/plain", "filename": "",
                              "headers": [{"name": "Content-Type", "value": "text/plain; charset=UTF-8"}],
                              "body": {"size": len(data), "data": _b64url(data)}})
            if msg.html is not None:
                data = msg.html.encode()
                parts.append({"partId": "1", "mimeType": "text/html", "filename": "",
                              "headers": [{"name": "Content-Type", "value": "text/html; charset=UTF-8"}],
                              "body": {"size": len(data), "data": _b64url(data)}})
        if msg.attachment_bytes:
            parts.append({"partId": "2", "mimeType": "application/pdf", "filename": "deck.pdf",
                          "headers": [{"name": "Content-Type", "value": "application/pdf"}],
                          "body": {"size": msg.attachment_bytes, "attachmentId": f"att-{msg.id}"}})
        payload = {"partId": "", "mimeType": "multipart/mixed", "filename": "", "headers": headers,
                   "body": {"size": 0}, "parts": parts}
        out["payload"] = payload
        out["snippet"] = (msg.text or "")[:100]
        return out

    def _gmail(self, method, path, query):
        fake = self.fake
        box = fake.who("google", self.headers.get("Authorization"))
        if box is None:
            self._body()
            return self._error(401, "Request had invalid authentication credentials.", "authError",
                               {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        if path == "/profile":
            return self._send(200, {"emailAddress": box.address, "messagesTotal": len(box.messages),
                                    "historyId": str(box.seq)})
        if path == "/labels" and method == "GET":
            return self._send(200, {"labels": [{"id": i, "name": n, "type": "user"}
                                               for n, i in box.gmail_labels.items()]})
        if path == "/labels" and method == "POST":
            body = self._json()
            with fake.lock:
                if body.get("name") in box.gmail_labels:
                    return self._error(409, "Label name exists or conflicts")
                lid = f"Label_{len(box.gmail_labels) + 1}"
                box.gmail_labels[body["name"]] = lid
            return self._send(200, {"id": lid, "name": body["name"], "type": "user"})
        if path == "/watch" and method == "POST":
            self._json()
            box.watches += 1
            return self._send(200, {"historyId": str(box.seq),
                                    "expiration": str(int((time.time() + 7 * 86400) * 1000))})
        if path == "/history":
            start = int(query.get("startHistoryId", "0"))
            if start < box.history_floor:
                return self._error(404, "Requested entity was not found.", "notFound")
            size = int(query.get("maxResults", "100"))
            offset = int(query.get("pageToken", "0"))
            with fake.lock:
                records = [(seq, mid) for seq, mid in box.history if seq > start]
                current = box.seq
            page = records[offset:offset + size]
            out = {"historyId": str(current),
                   "history": [{"id": str(seq), "messagesAdded": [{"message": {
                       "id": mid, "threadId": box.messages[mid].thread_id if mid in box.messages else mid,
                       "labelIds": sorted(box.messages[mid].labels) if mid in box.messages else ["INBOX"]}}]}
                       for seq, mid in page]}
            if offset + size < len(records):
                out["nextPageToken"] = str(offset + size)
            return self._send(200, out)
        if path == "/messages" and method == "GET":
            q = query.get("q", "")
            labels = self.query_lists.get("labelIds", [])
            with fake.lock:
                found = [box.messages[m] for m in reversed(box.order) if m in box.messages]
            if "in:sent" in q:
                to = re.search(r"to:(\S+)", q)
                found = [m for m in found if m.sent and (not to or m.to.lower() == to.group(1).lower())]
            after = re.search(r"after:(\d+)", q)
            if after:
                found = [m for m in found if m.received > int(after.group(1))]
            for lab in labels:
                found = [m for m in found if lab in m.labels]
            size = int(query.get("maxResults", "100"))
            offset = int(query.get("pageToken", "0"))
            out = {"messages": [{"id": m.id, "threadId": m.thread_id} for m in found[offset:offset + size]],
                   "resultSizeEstimate": len(found)}
            if offset + size < len(found):
                out["nextPageToken"] = str(offset + size)
            if not out["messages"]:
                del out["messages"]
            return self._send(200, out)
        m = re.fullmatch(r"/messages/([^/]+)(/modify|/attachments/[^/]+)?", path)
        if m:
            mid, action = m.group(1), m.group(2)
            msg = box.messages.get(mid)
            if msg is None:
                self._body()
                return self._error(404, "Requested entity was not found.", "notFound")
            if action == "/modify" and method == "POST":
                body = self._json()
                now = time.time()
                with fake.lock:
                    box.modify_calls[mid] = box.modify_calls.get(mid, 0) + 1
                    known = set(box.gmail_labels.values())
                    for lid in body.get("addLabelIds") or []:
                        if lid not in known:
                            return self._error(400, f"Invalid label: {lid}", "invalidArgument")
                    names = {v: k for k, v in box.gmail_labels.items()}
                    for lid in body.get("addLabelIds") or []:
                        if lid not in msg.labels:
                            msg.labels.add(lid)
                            box.label_events.setdefault(mid, []).append((now, names[lid]))
                    for lid in body.get("removeLabelIds") or []:
                        msg.labels.discard(lid)
                return self._send(200, self._gmail_message(box, msg, "minimal"))
            if action and action.startswith("/attachments/"):
                box.attachment_downloads += 1
                data = b"%PDF" + b"0" * max(0, msg.attachment_bytes - 4)
                return self._send(200, {"size": len(data), "data": _b64url(data)})
            return self._send(200, self._gmail_message(box, msg, query.get("format", "full")))
        m = re.fullmatch(r"/threads/([^/]+)", path)
        if m:
            msgs = box.thread_messages(m.group(1))
            if not msgs:
                return self._error(404, "Requested entity was not found.", "notFound")
            return self._send(200, {"id": m.group(1), "messages": [self._gmail_message(box, x, "minimal") for x in msgs]})
        self._error(404, f"no such Gmail endpoint {path}")

    # --- Microsoft identity ----------------------------------------------------------------

    def _microsoft(self, method, path, query):
        fake = self.fake
        tenant = path.split("/")[1]
        base = f"{fake.url}/{tenant}"
        if path.endswith("/.well-known/openid-configuration"):
            return self._send(200, {"issuer": f"{fake.url}/{TENANT_ID}/v2.0",
                                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                                    "jwks_uri": f"{base}/discovery/v2.0/keys"})
        if path.endswith("/oauth2/v2.0/authorize"):
            address = fake.next_consent["microsoft"]
            code = secrets.token_urlsafe(16)
            fake.codes[code] = {"provider": "microsoft", "address": address, "query": query}
            target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", "")})
            return self._send(302, None, {"Location": target})
        if path.endswith("/oauth2/v2.0/token"):
            form = self._form()
            if (form.get("client_id"), form.get("client_secret")) != MS_CLIENT:
                return self._send(401, {"error": "invalid_client"})
            scope = " ".join(s for s in form.get("scope", "").split() if s not in ("openid", "profile", "offline_access"))
            if form.get("grant_type") == "authorization_code":
                pending = fake.codes.pop(form.get("code", ""), None)
                if pending is None or pending["query"].get("redirect_uri") != form.get("redirect_uri"):
                    return self._send(400, {"error": "invalid_grant"})
                address = pending["address"]
                nonce = pending["query"].get("nonce")
            elif form.get("grant_type") == "refresh_token":
                with fake.lock:
                    grant = fake.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if grant is None or grant[0] != "microsoft":
                    return self._send(400, {"error": "invalid_grant", "error_description":
                                            "AADSTS700082: The refresh token has expired or was revoked."})
                address, nonce = grant[1], None
            else:
                return self._send(400, {"error": "unsupported_grant_type"})
            with fake.lock:
                rt = fake.refresh_token("microsoft", address)   # Microsoft rotates refresh tokens
                at = fake._issue("microsoft", address)
            oid = f"00000000-0000-4000-8000-{abs(hash(address)) % 10**12:012d}"
            claims = {"iss": f"{fake.url}/{TENANT_ID}/v2.0", "aud": MS_CLIENT[0], "tid": TENANT_ID,
                      "oid": oid, "sub": oid, "preferred_username": address, "iat": int(time.time()),
                      "exp": int(time.time()) + 3600}
            if nonce:
                claims["nonce"] = nonce
            id_token = ".".join([_b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode()),
                                 _b64url(json.dumps(claims).encode()), ""])
            return self._send(200, {"token_type": "Bearer", "scope": scope or "Mail.ReadWrite User.Read",
                                    "expires_in": ACCESS_TOKEN_SECONDS, "access_token": at, "refresh_token": rt,
                                    "id_token": id_token,
                                    "client_info": _b64url(json.dumps({"uid": oid, "utid": TENANT_ID}).encode())})
        self._error(404, "no such endpoint")

    # --- Graph -----------------------------------------------------------------------------

    def _graph_message(self, box: Account, msg: Message) -> dict:
        index = b"\x01" + bytes(21) + (bytes(5) if msg.reply else b"")
        if msg.raw_body is not None:
            body = {"contentType": "text", "content": msg.raw_body.decode(msg.charset, "replace")}
        elif msg.text is not None:
            body = {"contentType": "text", "content": msg.text}
        else:
            body = {"contentType": "html", "content": msg.html or ""}
        return {"id": msg.id, "subject": msg.subject, "body": body, "isDraft": False,
                "from": {"emailAddress": {"address": msg.sender, "name": msg.sender.split("@")[0]}},
                "receivedDateTime": dt.datetime.fromtimestamp(msg.received, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "conversationId": msg.thread_id, "conversationIndex": base64.b64encode(index).decode(),
                "categories": sorted(msg.labels - {"INBOX", "SENT"}),
                "hasAttachments": bool(msg.attachment_bytes),
                "internetMessageHeaders": [{"name": k, "value": v} for k, v in msg.headers.items()]}

    def _graph(self, method, path, query):
        fake = self.fake
        box = fake.who("microsoft", self.headers.get("Authorization"))
        if box is None:
            self._body()
            return self._send(401, {"error": {"code": "InvalidAuthenticationToken",
                                              "message": "Access token has expired or is not yet valid."}})
        if path == "/$batch" and method == "POST" and not isinstance(self, _SubRequest):
            return self._graph_batch()
        if path == "/me":
            return self._send(200, {"mail": box.address, "userPrincipalName": box.address})
        if path == "/me/mailFolders/inbox/messages/delta":
            m = re.search(r"odata\.maxpagesize=(\d+)", self.headers.get("Prefer") or "")
            page_size = int(m.group(1)) if m else 10
            with fake.lock:
                if "$skiptoken" in query:  # the rest of a round, as it was when the round began
                    found, token = fake.delta_rounds.get(query["$skiptoken"], ([], box.seq))
                elif "$deltatoken" in query:
                    since = int(query["$deltatoken"])
                    if since < box.history_floor:
                        return self._send(410, {"error": {"code": "SyncStateNotFound", "message": "gone"}})
                    token = box.seq
                    found = [mid for seq, mid in box.history if since < seq <= token]
                else:
                    start = 0.0
                    m = re.search(r"receivedDateTime ge (\S+)", query.get("$filter", ""))
                    if m:
                        start = dt.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
                    token = box.seq
                    found = [mid for seq, mid in box.history
                             if mid in box.messages and box.messages[mid].received >= start]
                page, rest = found[:page_size], found[page_size:]
                out = {"value": [{"id": mid} for mid in page]}
                link = f"{fake.url}/graph/v1.0/me/mailFolders/inbox/messages/delta?"
                if rest:
                    key = secrets.token_hex(8)
                    fake.delta_rounds[key] = (rest, token)
                    out["@odata.nextLink"] = link + urlencode({"$skiptoken": key})
                else:
                    out["@odata.deltaLink"] = link + urlencode({"$deltatoken": str(token)})
            return self._send(200, out)
        if path == "/me/mailFolders/sentitems/messages":
            flt, search = query.get("$filter", ""), query.get("$search", "").strip('"')
            with fake.lock:
                sent = [m for m in box.messages.values() if m.sent]
            m = re.search(r"conversationId eq '([^']*)'", flt)
            if m:
                sent = [x for x in sent if x.thread_id == m.group(1)]
            m = re.match(r"to:(\S+)", search)
            if m:
                sent = [x for x in sent if x.to.lower() == m.group(1).lower()]
            return self._send(200, {"value": [{"id": x.id} for x in sent[:int(query.get("$top", "10"))]]})
        if path == "/me/outlook/masterCategories" and method == "POST":
            body = self._json()
            with fake.lock:
                if body.get("displayName") in box.categories:
                    return self._send(409, {"error": {"code": "ErrorDuplicate", "message": "exists"}})
                box.categories.append(body.get("displayName"))
            return self._send(201, {"id": secrets.token_hex(8), **body})
        if path == "/subscriptions" and method == "POST":
            body = self._json()
            box.subscriptions.append(body)
            return self._send(201, {"id": secrets.token_hex(8), **body})
        m = re.fullmatch(r"/me/messages/([^/]+)", path)
        if m:
            msg = box.messages.get(m.group(1))
            if msg is None:
                self._body()
                return self._send(404, {"error": {"code": "ErrorItemNotFound", "message": "not found"}})
            if method == "PATCH":
                body = self._json()
                now = time.time()
                with fake.lock:
                    box.modify_calls[msg.id] = box.modify_calls.get(msg.id, 0) + 1
                    wanted = set(body.get("categories") or [])
                    for c in sorted(wanted - msg.labels):
                        box.label_events.setdefault(msg.id, []).append((now, c))
                    msg.labels = {l for l in msg.labels if l in ("INBOX", "SENT")} | wanted
                return self._send(200, self._graph_message(box, msg))
            return self._send(200, self._graph_message(box, msg))
        self._send(404, {"error": {"code": "NotFound", "message": f"no such Graph endpoint {path}"}})


class _SubRequest(_Handler):
    """One request of a batch, answered by the same routes as a request of its own; its answer
    is kept (status, body, content type, headers) instead of written to a socket."""

    def __init__(self, fake: FakeMail, method: str, target: str, headers, body: bytes):
        import io

        self.fake = fake
        self.command = method
        self.path = target
        self.headers = headers
        self.rfile = io.BytesIO(body)
        self.answer = (500, b"", "application/json", None)

    def _send(self, status: int, body=None, headers: dict | None = None, text: str | None = None):
        data, ctype = encode_body(body, text)
        self.answer = (status, data, ctype, headers)
        if self.fake.record_requests:
            self.fake.requests.append((time.time(), self.command, self.path, status))
