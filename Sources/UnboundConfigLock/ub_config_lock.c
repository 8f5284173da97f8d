/*
 * Preloaded into OpenDKIM (LD_PRELOAD): serializes ub_ctx_config().
 *
 * libunbound parses a config file with one process-wide parser, so
 * ub_ctx_config() must not run on two contexts at once (libunbound(3)).
 * OpenDKIM 2.11 creates a context for every message (its VBR handle) and
 * reads ResolverConfiguration into it without a process-wide lock; under
 * concurrent mail the parses collide: "can't set VBR resolver
 * configuration" (message deferred) or flex's fatal error and exit(2).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>

struct ub_ctx;

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;

int ub_ctx_config(struct ub_ctx *ctx, const char *fname)
{
    static int (*real)(struct ub_ctx *, const char *);
    int r;

    pthread_mutex_lock(&config_lock);
    if (real == NULL)
        real = (int (*)(struct ub_ctx *, const char *))dlsym(RTLD_NEXT, "ub_ctx_config");
    r = real != NULL ? real(ctx, fname) : -1;
    pthread_mutex_unlock(&config_lock);
    return r;
}
