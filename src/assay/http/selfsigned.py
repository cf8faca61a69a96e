"""A self-signed certificate for ``assay mock --tls``, made at start with ``cryptography``.

``ssl`` only loads certificates from files, so the PEM files are written into a directory
the caller owns (and removes). The certificate names ``localhost``, ``127.0.0.1`` and
``::1`` and lasts 30 days: long enough for any test run, short enough not to be reused.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class CertFiles:
    """Where the certificate and its key were written."""

    cert: Path
    key: Path


def write_self_signed(directory: Path, hosts: tuple[str, ...] = ("localhost",)) -> CertFiles:
    """Write ``cert.pem`` and ``key.pem`` for ``hosts`` (plus 127.0.0.1 and ::1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "assay mock")])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = []
    for host in (*hosts, "localhost", "127.0.0.1", "::1"):
        try:
            entry: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            entry = x509.DNSName(host)
        if entry not in alt_names:
            alt_names.append(entry)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = CertFiles(directory / "cert.pem", directory / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    files.key.chmod(0o600)
    return files


def server_context(files: CertFiles) -> ssl.SSLContext:
    """A server-side TLS context serving ``files`` (HTTP/1.1 offered by ALPN)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)
    context.set_alpn_protocols(["http/1.1"])
    return context
