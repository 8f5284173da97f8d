// echo: the floor for dictload on this machine right now. Answers every
// line with "Ox" from one thread per connection and does nothing else, so
// "chatmaild vs echo" separates our cost from the machine's (scheduler,
// UNIX-socket round trips, other load).
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static void *serve(void *arg) {
    int c = (int)(long)arg; char buf[4096];
    for (;;) { ssize_t n = read(c, buf, sizeof buf); if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) if (buf[i] == '\n') write(c, "Ox\n", 3); }
    close(c); return 0;
}
int main(int argc, char **argv) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0); struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, argv[1]); unlink(argv[1]); bind(fd, (void *)&a, sizeof a); listen(fd, 100);
    for (;;) { int c = accept(fd, 0, 0); pthread_t t; pthread_create(&t, 0, serve, (void *)(long)c); }
}
