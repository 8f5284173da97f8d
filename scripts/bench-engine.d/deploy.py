# The bench deploy for pyinfra: the same resources as benchManifest() in
# Sources/engine-lab/Bench.swift, so both tools do the same work on the same
# kind of host. BENCH_FILES_URL, BENCH_TURN_FILE and BENCH_TURN_SHA256 come
# from scripts/bench-engine.
import io
import os

from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

apt.packages(
    name="packages",
    packages=["postfix", "curl", "rsync", "cron"],
    update=True,
    no_recommends=True,
)
for g in range(1, 4):
    server.group(name=f"group benchgrp{g}", group=f"benchgrp{g}", system=True)
for u in range(1, 4):
    server.user(name=f"user benchusr{u}", user=f"benchusr{u}", group=f"benchgrp{u}",
                system=True, shell="/usr/sbin/nologin", ensure_home=False)
turn = files.download(
    name="download bench-turn",
    src=os.environ["BENCH_FILES_URL"] + os.environ["BENCH_TURN_FILE"],
    dest="/usr/local/bin/bench-turn",
    sha256sum=os.environ["BENCH_TURN_SHA256"],
    mode="755",
)
for d in range(10):
    files.directory(name=f"directory d{d}", path=f"/etc/bench/d{d}", mode="755", user="root", group="root")
for i in range(60):
    files.put(
        name=f"file f{i}",
        src=io.StringIO(f"# bench file {i}\nvalue = {i * 7}\n"),
        dest=f"/etc/bench/d{i % 10}/f{i}.conf",
        mode="644", user="root", group="root",
    )
for line in range(1, 6):
    files.line(name=f"line {line}", path="/etc/bench/lines.txt", line=f"line {line}")
unit = files.put(
    name="unit benchd",
    src=io.StringIO(
        "[Unit]\nDescription=cmdeploy bench service\n\n"
        "[Service]\nExecStart=/usr/local/bin/bench-turn\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    ),
    dest="/etc/systemd/system/benchd.service",
    mode="644", user="root", group="root",
)
systemd.daemon_reload(name="daemon-reload", _if=unit.did_change)
systemd.service(name="benchd running", service="benchd.service", running=True, enabled=True)
systemd.service(name="benchd restart", service="benchd.service", restarted=True, _if=any_changed(unit, turn))
