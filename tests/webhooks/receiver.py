"""A webhook receiver on 127.0.0.1 (``http.server`` in a thread), over HTTP or HTTPS, and the
certificates an HTTPS receiver shows (a test CA and a server certificate for chosen names)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Attempt:
    """One request the receiver got, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> dict:
        return json.loads(self.body)

    @property
    def accepted(self) -> bool:
        return 200 <= self.answered < 300


class Receiver:
    """A webhook receiver on 127.0.0.1 that records attempts and fails the first N on request.

    ``answer`` is the status of every other attempt (a 3xx one carries a ``Location``); with
    ``tls`` (a server-side context) it speaks HTTPS and keeps the server names (SNI) clients
    asked for in ``server_names``.
    """

    def __init__(self, answer: int = 200, tls: ssl.SSLContext | None = None) -> None:
        self.lock = threading.Lock()
        self.attempts: list[Attempt] = []
        self.answer = answer
        self.fail_first = 0
        self.waiters: list[tuple[str, threading.Event]] = []
        self.server_names: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.record(self.path, dict(self.headers.items()), body, self)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # keep the test output clean

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        scheme = "http"
        if tls is not None:
            tls.sni_callback = self._server_name
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="webhook-receiver",
            daemon=True,
        )

    def _server_name(self, _socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        with self.lock:
            self.server_names.append(name)

    def record(self, path: str, headers: dict, body: bytes, handler: BaseHTTPRequestHandler) -> None:
        with self.lock:
            status = 500 if self.fail_first > 0 else self.answer
            self.fail_first = max(0, self.fail_first - 1)
            attempt = Attempt(path, headers, body, status)
            self.attempts.append(attempt)
        handler.send_response(status)
        if 300 <= status < 400:
            handler.send_header("Location", "http://127.0.0.1:9/elsewhere")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        if attempt.accepted:
            event_type = headers.get("X-Consent-Event")
            with self.lock:
                for wanted, arrived in self.waiters:
                    if wanted == event_type:
                        arrived.set()

    def on(self, event_type: str) -> threading.Event:
        """An event set when a delivery of ``event_type`` is accepted."""
        arrived = threading.Event()
        with self.lock:
            self.waiters.append((event_type, arrived))
        return arrived

    def accepted(self) -> list[Attempt]:
        with self.lock:
            return [a for a in self.attempts if a.accepted]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()
        assert not self.thread.is_alive(), "the receiver did not stop"


@dataclass(frozen=True)
class Certificates:
    """A test CA (``ca_file``, what a client trusts) and a server certificate it signed for
    ``names`` (``server_context()`` serves it)."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context showing the server certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificates(folder: Path, *names: str) -> Certificates:
    """Write a CA and a server certificate for the DNS ``names`` (valid now) into ``folder``."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "consent_service test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    certificates = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    certificates.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    certificates.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certificates.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return certificates


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
