// dictload: a load generator for chatmaild's dict sockets, in C so the
// client is never the bottleneck. Each thread owns one connection and sends
// requests one at a time, as a Dovecot auth process does.
//
//   dictload SOCKET create CONNECTIONS COUNT [FIRSTID]
//       COUNT passdb lookups per connection for new addresses
//       c<FIRSTID+conn:2><n:6>@example.org: each one creates an account
//   dictload SOCKET pipecreate CONNECTIONS COUNT [FIRSTID]
//       the same, but 16 requests are sent at once before reading the 16
//       replies, as Dovecot's auth process pipelines on one connection;
//       latency is per batch
//   dictload SOCKET login CONNECTIONS SECONDS USERCONNS USERSPERCONN
//       for SECONDS, passdb + userdb lookups of the accounts made by
//       `create USERCONNS USERSPERCONN` with FIRSTID 0
//
// Prints: ops, seconds, ops/s, p50 and p99 latency in ms (one op = one
// login = two lookups in login mode, one creation in create mode).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path, *mode;
static int conns, users_conns, users_per_conn;
static double seconds;
static long count;

struct result { long ops; double *lat; long cap; int failed; };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_dict(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, sock_path, sizeof a.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); exit(1); }
    return fd;
}

// Sends one line and reads one reply line; returns its first byte.
static int ask(int fd, const char *line, size_t len) {
    if (write(fd, line, len) != (ssize_t)len) return -1;
    char buf[4096];
    int first = -1;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return -1;
        if (first < 0) first = buf[0];
        if (buf[n - 1] == '\n') return first;
    }
}

static void record(struct result *r, double t) {
    if (r->ops == r->cap) { r->cap = r->cap ? r->cap * 2 : 65536; r->lat = realloc(r->lat, r->cap * sizeof(double)); }
    r->lat[r->ops++] = t;
}

static void *worker(void *arg) {
    long id = (long)arg;
    struct result *r = calloc(1, sizeof *r);
    int fd = connect_dict();
    char line[512];
    if (strcmp(mode, "pipecreate") == 0) {
        long k = id + users_conns;
        char batch[16 * 512];
        for (long i = 0; i < count; i += 16) {
            int len = 0, lines = 0;
            for (long j = i; j < i + 16 && j < count; j++, lines++)
                len += snprintf(batch + len, sizeof batch - len,
                                "Lshared/passdb/password123\"c%02ld%06ld@example.org\tc%02ld%06ld@example.org\n", k, j, k, j);
            double t0 = now();
            if (write(fd, batch, len) != len) { r->failed++; break; }
            int got = 0, bol = 1;
            char buf[65536];
            while (got < lines) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n <= 0) { r->failed++; break; }
                for (ssize_t x = 0; x < n; x++) {
                    if (bol && buf[x] != 'O') r->failed++;  // every reply must be a created account
                    bol = buf[x] == '\n';
                    got += bol;
                }
            }
            for (int j = 0; j < lines; j++) record(r, (now() - t0) / lines);
        }
    } else if (strcmp(mode, "create") == 0) {
        long k = id + users_conns;  // USERCONNS is the first connection id in create mode
        for (long i = 0; i < count; i++) {
            int n = snprintf(line, sizeof line, "Lshared/passdb/password123\"c%02ld%06ld@example.org\tc%02ld%06ld@example.org\n",
                             k, i, k, i);
            double t0 = now();
            if (ask(fd, line, n) != 'O') r->failed++;
            record(r, now() - t0);
        }
    } else {
        double end = now() + seconds;
        long i = 0;
        while (now() < end) {
            long k = (id + i) % users_conns, u = i % users_per_conn;
            i++;
            double t0 = now();
            int n = snprintf(line, sizeof line, "Lshared/passdb/password123\"c%02ld%06ld@example.org\tc%02ld%06ld@example.org\n",
                             k, u, k, u);
            if (ask(fd, line, n) != 'O') r->failed++;
            n = snprintf(line, sizeof line, "Lshared/userdb/c%02ld%06ld@example.org\tc%02ld%06ld@example.org\n", k, u, k, u);
            if (ask(fd, line, n) != 'O') r->failed++;
            record(r, now() - t0);
        }
    }
    close(fd);
    return r;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: dictload SOCKET create|login CONNECTIONS COUNT|SECONDS [USERCONNS USERSPERCONN]\n"); return 2; }
    sock_path = argv[1]; mode = argv[2]; conns = atoi(argv[3]);
    count = atol(argv[4]); seconds = atof(argv[4]);
    users_conns = argc > 5 ? atoi(argv[5]) : (strcmp(mode, "login") != 0 ? 0 : 1);
    users_per_conn = argc > 6 ? atoi(argv[6]) : 1;
    pthread_t th[256];
    if (conns < 1 || conns > 256) return 2;
    double t0 = now();
    for (long i = 0; i < conns; i++) pthread_create(&th[i], NULL, worker, (void *)i);
    long ops = 0, failed = 0, n = 0;
    struct result *rs[256];
    for (int i = 0; i < conns; i++) { pthread_join(th[i], (void **)&rs[i]); ops += rs[i]->ops; failed += rs[i]->failed; }
    double elapsed = now() - t0;
    double *all = malloc((ops ? ops : 1) * sizeof(double));
    for (int i = 0; i < conns; i++) { memcpy(all + n, rs[i]->lat, rs[i]->ops * sizeof(double)); n += rs[i]->ops; }
    qsort(all, n, sizeof(double), cmp);
    double p50 = n ? all[n / 2] * 1000 : 0, p99 = n ? all[(long)(n * 0.99)] * 1000 : 0;
    printf("ops=%ld seconds=%.2f rate=%.0f p50_ms=%.3f p99_ms=%.3f failed=%ld\n", ops, elapsed, ops / elapsed, p50, p99, failed);
    return failed ? 1 : 0;
}
