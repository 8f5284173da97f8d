#!/usr/bin/env python3
"""DKIM-sign a message the way a sending relay does (RFC 6376):
rsa-sha256, relaxed/relaxed, h=from:to:subject:date:message-id.

    dkim_sign.py KEY.pem DOMAIN SELECTOR < message.eml > signed.eml

The message is CRLF text and comes out with a DKIM-Signature header in
front. The RSA signature is made by `openssl dgst -sha256 -sign`.
Used by Tests/lab/relay-mxdeliv.sh with relay2's own OpenDKIM key.
"""
import base64
import hashlib
import re
import subprocess
import sys
import time

SIGNED = ["from", "to", "subject", "date", "message-id"]


def relaxed_header(name, value):
    """name:value with the field unfolded and its blanks collapsed (3.4.2)."""
    value = re.sub(r"\r\n(?=[ \t])", "", value)
    value = re.sub(r"[ \t]+", " ", value).strip(" ")
    return f"{name.strip().lower()}:{value}\r\n"


def relaxed_body(body):
    """Blanks collapsed, trailing blanks and trailing empty lines gone (3.4.4)."""
    lines = [re.sub(r"[ \t]+", " ", line).rstrip(" ") for line in body.split("\r\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return "".join(line + "\r\n" for line in lines)


def fields(head):
    """[(name, value)] of a header block, continuation lines kept in the value."""
    out = []
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + "\r\n" + line)
        else:
            name, _, value = line.partition(":")
            out.append((name, value))
    return out


def sign(message, key, domain, selector):
    head, _, body = message.partition("\r\n\r\n")
    present = {name.strip().lower(): value for name, value in fields(head)}  # last one wins
    bh = base64.b64encode(hashlib.sha256(relaxed_body(body).encode()).digest()).decode()
    tags = (f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s={selector}; t={int(time.time())};"
            f" h={':'.join(SIGNED)}; bh={bh}; b=")
    data = "".join(relaxed_header(n, present[n]) for n in SIGNED if n in present)
    data += relaxed_header("DKIM-Signature", tags)[:-2]  # the signature's own field, without CRLF
    rsa = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                         input=data.encode(), capture_output=True, check=True).stdout
    return f"DKIM-Signature: {tags}{base64.b64encode(rsa).decode()}\r\n{message}"


if __name__ == "__main__":
    key, domain, selector = sys.argv[1:4]
    message = sys.stdin.buffer.read().decode()
    sys.stdout.buffer.write(sign(message, key, domain, selector).encode())
