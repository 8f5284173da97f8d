# Runs on a relay (python3 - SECONDS UNIT...): samples each unit's memory every
# 2 s for SECONDS, then prints "UNIT PEAK-RSS-KIB PEAK-PSS-KIB", summed over
# the unit's processes (PSS shares pages between processes, e.g. Postfix's).
import os, sys, time
seconds, units = float(sys.argv[1]), sys.argv[2:]
peak = {u: [0, 0] for u in units}
roots = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"]

def procs(unit):
    # template instances (postfix@-) sit in a slice of their own
    slices = ["system.slice", "system.slice/system-%s.slice" % unit.split("@")[0]]
    for root in roots:
        for sl in slices:
            try:
                return open("%s/%s/%s.service/cgroup.procs" % (root, sl, unit)).read().split()
            except OSError:
                pass
    return []

def field(path, name):
    try:
        for line in open(path):
            if line.startswith(name):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0

end = time.time() + seconds
while True:
    for u in units:
        pids = procs(u)
        rss = sum(field("/proc/%s/status" % p, "VmRSS:") for p in pids)
        pss = sum(field("/proc/%s/smaps_rollup" % p, "Pss:") for p in pids)
        peak[u][0] = max(peak[u][0], rss)
        peak[u][1] = max(peak[u][1], pss)
    if time.time() >= end:
        break
    time.sleep(2)
for u in units:
    print(u, peak[u][0], peak[u][1])
