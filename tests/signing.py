"""Locally made signing material for the identity tests: a public key as a JWK (Microsoft's key
sets) and a self-signed certificate (Google's certificates), for keys the tests generate."""
from __future__ import annotations

import datetime as dt
import json

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID


def jwk(private_key, kid: str) -> dict:
    out = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    out.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return out


def certificate_pem(key, name: str = "google-test") -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
