#!/usr/bin/env python3
"""Writes the files core's online test suite reads from `test-data/`.

    make_test_data.py DIR

The deltachat-rpc-client sdist carries the suite's tests/ but not the core
repository's test-data/ directory, so the run (Tests/lab/core-suite/run)
makes stand-ins with the properties the tests rely on. Deterministic (fixed
seed); needs Pillow (installed in the lab's client venv by `scripts/lab
build`).

| file | used by | property the test needs |
|---|---|---|
| image/screenshot.jpg | test_download_on_demand (chatlist_events, multitransport) | a real JPEG over core's pre-message threshold (140,000 bytes), under its image recode limits, so it goes out as pre- and post-message |
| image/avatar1000x1000.jpg | test_selfavatar_sync | a JPEG avatar core recodes |
| image/avatar64x64.png | test_import_export_online_all (size compared after a backup) | a small PNG core sends unchanged |
| webxdc/chess.xdc | test_webxdc*, test_iroh_webxdc | manifest name "Chess Board", icon.png, no source_code_url |
| webxdc/realtime-check.xdc | test_realtime_large_webxdc (iroh) | a webxdc over the pre-message threshold |
"""

import io
import os
import random
import sys
import zipfile

from PIL import Image

PRE_MSG_THRESHOLD = 140_000     # core: PRE_MSG_ATTACHMENT_SIZE_THRESHOLD
RECODE_BYTES = 500_000          # core recodes larger images ("balanced" media quality)


def noisy_image(size, seed, noise):
    """A colour gradient with noise: JPEG cannot squeeze it much."""
    rnd = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size)
    px = img.load()
    for y in range(h):
        for x in range(w):
            r = (x * 255 // w + rnd.randint(-noise, noise)) % 256
            g = (y * 255 // h + rnd.randint(-noise, noise)) % 256
            b = ((x + y) * 127 // (w + h) + rnd.randint(-noise, noise)) % 256
            px[x, y] = (r, g, b)
    return img


def jpeg(img, quality):
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def png(img):
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def xdc(path, name, extra=()):
    icon = png(noisy_image((64, 64), 7, 40))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("manifest.toml", f'name = "{name}"\n', compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("index.html", f"<!doctype html><title>{name}</title><p>{name}</p>\n",
                   compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("icon.png", icon)
        for member, data in extra:
            z.writestr(member, data)   # stored: random bytes do not compress


def main():
    root = sys.argv[1]
    os.makedirs(os.path.join(root, "image"), exist_ok=True)
    os.makedirs(os.path.join(root, "webxdc"), exist_ok=True)

    shot = jpeg(noisy_image((800, 560), 1, 50), 85)
    if not PRE_MSG_THRESHOLD * 1.3 < len(shot) < RECODE_BYTES:
        sys.exit(f"screenshot.jpg is {len(shot)} bytes, want between {PRE_MSG_THRESHOLD * 1.3:.0f} and {RECODE_BYTES}")
    files = {
        "image/screenshot.jpg": shot,
        "image/avatar1000x1000.jpg": jpeg(noisy_image((1000, 1000), 2, 20), 85),
        "image/avatar64x64.png": png(noisy_image((64, 64), 3, 10)),
    }
    for rel, data in files.items():
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
    xdc(os.path.join(root, "webxdc/chess.xdc"), "Chess Board")
    big = random.Random(4).randbytes(2 * PRE_MSG_THRESHOLD)
    xdc(os.path.join(root, "webxdc/realtime-check.xdc"), "Realtime check", [("padding.bin", big)])


if __name__ == "__main__":
    main()
