# Runs on a relay (python3 - SECONDS UNIT...): samples each unit's memory every
# 2 s for SECONDS, then prints "UNIT PEAK-RSS-KIB PEAK-CGROUP-KIB" (RSS summed
# over the unit's processes; the cgroup figure includes page cache).
import os, sys, time
seconds, units = float(sys.argv[1]), sys.argv[2:]
peak = {u: [0, 0] for u in units}
end = time.time() + seconds
while True:
    for u in units:
        base = "/sys/fs/cgroup/system.slice/%s.service" % u
        rss = 0
        try:
            pids = open(base + "/cgroup.procs").read().split()
            cg = int(open(base + "/memory.current").read()) // 1024
        except (OSError, ValueError):
            continue
        for pid in pids:
            try:
                for line in open("/proc/%s/status" % pid):
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            except OSError:
                pass
        peak[u][0] = max(peak[u][0], rss)
        peak[u][1] = max(peak[u][1], cg)
    if time.time() >= end:
        break
    time.sleep(2)
for u in units:
    print(u, peak[u][0], peak[u][1])
