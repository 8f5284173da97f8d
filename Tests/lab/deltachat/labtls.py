"""The lab's TLS trust for Delta Chat core, shared by e2e.py and the core
suite's pytest plugin (Tests/lab/core-suite/lab_core_suite.py).

Core's strict TLS check trusts only its compiled-in Mozilla roots (rustls
with webpki-roots): SSL_CERT_FILE, the system store and certifi are not read,
so the lab CA cannot be added. Core does keep a per-host pin of the server
key (table `tls_spki` of an account's database: SHA-256 of the certificate's
SubjectPublicKeyInfo, base64), which it normally stores after a strict
connection succeeded and then accepts for that host name (the name is still
checked). A test verifies a relay's certificate with Python's ssl against
the lab CA bundle, takes the key's hash and stores it as that pin before
the account connects.
"""

import base64
import hashlib
import socket
import sqlite3
import ssl
import time


def der_items(data, pos, end):
    """Yields (start, header_len, content_len) of the DER items in data[pos:end]."""
    while pos < end:
        n = data[pos + 1]
        head = 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(data[pos + 2:pos + 2 + k], "big")
            head += k
        yield pos, head, n
        pos += head + n


def cert_spki(cert_der):
    """The SubjectPublicKeyInfo of an X.509 certificate (DER)."""
    _, h, n = next(der_items(cert_der, 0, len(cert_der)))          # Certificate
    _, th, tn = next(der_items(cert_der, h, h + n))                 # tbsCertificate
    fields = list(der_items(cert_der, h + th, h + th + tn))
    if cert_der[fields[0][0]] == 0xA0:                              # [0] version
        fields = fields[1:]
    start, fh, fn = fields[5]   # serial, signature, issuer, validity, subject, spki
    return cert_der[start:start + fh + fn]


def verified_spki_hash(host, ca_bundle):
    """Connects to host's TLS ports, verifies chain and name against the lab
    CA (strict, Python's ssl), and returns the SPKI SHA-256 in base64, the
    form the core keeps in its tls_spki table."""
    ctx = ssl.create_default_context(cafile=ca_bundle)
    hashes = set()
    for port in (443, 465, 993):
        with socket.create_connection((host, port), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname=host) as tls:
            spki = cert_spki(tls.getpeercert(binary_form=True))
            hashes.add(base64.b64encode(hashlib.sha256(spki).digest()).decode())
    if len(hashes) != 1:
        raise ValueError(f"{host}: ports 443/465/993 serve different keys")
    return hashes.pop()


def pin_spki(db_path, host, spki_hash):
    """Stores host's key in an account's SPKI store (its dc.db), as if an
    earlier strict connection had seen it: the core then accepts exactly this
    key for this host name (the name is still checked), nothing else."""
    con = sqlite3.connect(db_path, timeout=10)
    try:
        with con:
            con.execute("INSERT OR REPLACE INTO tls_spki (host, spki_hash, timestamp) VALUES (?, ?, ?)",
                        (host, spki_hash, int(time.time())))
    finally:
        con.close()
