# Runs on a relay (python3 -): every load message in the mailboxes as
# "MESSAGE-ID ADDRESS DELIVERED-UNIX-TIME", the time from Dovecot's file name
# (SECONDS.M<usec>P...). Files may be gzip-compressed (zlib_save = gz).
import gzip, os, sys
root = sys.argv[1]
for domain in os.listdir(root):
    for user in os.listdir(os.path.join(root, domain)):
        for sub in ("new", "cur"):
            d = os.path.join(root, domain, user, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                path = os.path.join(d, name)
                try:
                    with open(path, "rb") as f:
                        head = f.read(2)
                        f.seek(0)
                        g = gzip.open(f) if head == b"\x1f\x8b" else f
                        msgid = None
                        for line in g:
                            if line in (b"\r\n", b"\n"):
                                break
                            if line.lower().startswith(b"message-id:"):
                                msgid = line.split(b":", 1)[1].strip().decode(errors="replace")
                except OSError:
                    continue
                if not msgid or not msgid.strip("<>").startswith("load-"):
                    continue
                sec, _, rest = name.partition(".")
                usec = rest[1:rest.index("P")] if rest.startswith("M") and "P" in rest else "0"
                print(msgid, user, "%s.%06d" % (sec, int(usec) if usec.isdigit() else 0))
