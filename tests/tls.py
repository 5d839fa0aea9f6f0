"""Throw-away TLS material for the TLS tests, made with trustme."""

from __future__ import annotations

from pathlib import Path

import trustme


def write_tls_files(base: Path, *, client_cert: bool = False) -> dict[str, str]:
    """A CA and a server certificate for 127.0.0.1 under ``base`` (and a client
    certificate signed by the same CA with ``client_cert``); file paths by role."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca": base / "ca.pem", "cert": base / "server.pem", "key": base / "server.key"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    if client_cert:
        client = ca.issue_cert("langgraph-client")
        files["client_cert"] = base / "client.pem"
        files["client_key"] = base / "client.key"
        client.cert_chain_pems[0].write_to_path(str(files["client_cert"]))
        client.private_key_pem.write_to_path(str(files["client_key"]))
    return {k: str(v) for k, v in files.items()}
