/* Libraries loaded on first use (lazylib.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lazylib.h"

/* Under l->lock: dlopen and every symbol. 1, or -1 with l->error set. */
static int load_now(struct nu_lazylib *l)
{
    /* RTLD_LAZY binds as the loader does at start-up: libraries built with
     * BIND_NOW at once, the others on first call. RTLD_NOW would bind every
     * PLT slot of libcurl's 35 dependencies: 20% more work for libcurl. */
    void *h = dlopen(l->soname, RTLD_LAZY | RTLD_LOCAL);
    if (h == NULL) {
        const char *why = dlerror(); /* "libx.so.1: cannot open shared object file: ..." */
        snprintf(l->error, sizeof(l->error), "%s", why != NULL ? why : l->soname);
        return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        l->syms[i] = dlsym(h, l->names[i]);
        if (l->syms[i] == NULL) {
            snprintf(l->error, sizeof(l->error), "%s: no symbol %s", l->soname, l->names[i]);
            return -1; /* h stays open: harmless */
        }
    }
    return 1;
}

int nu_lazylib_load(struct nu_lazylib *l, char *errbuf)
{
    int state = atomic_load_explicit(&l->state, memory_order_acquire);
    if (state == 0) {
        pthread_mutex_lock(&l->lock);
        state = atomic_load_explicit(&l->state, memory_order_relaxed);
        if (state == 0) {
            state = load_now(l);
            atomic_store_explicit(&l->state, state, memory_order_release);
        }
        pthread_mutex_unlock(&l->lock);
    }
    if (state > 0)
        return 0;
    if (errbuf != NULL)
        nu_err_set(errbuf, NU_EIO, "%s", l->error);
    return NU_EIO;
}

void *nu_lazylib_sym(struct nu_lazylib *l, size_t i)
{
    if (nu_lazylib_load(l, NULL) != 0) {
        /* What ld.so says and does when a library is missing at start-up. */
        fprintf(stderr, "error while loading shared libraries: %s\n", l->error);
        _exit(127);
    }
    return l->syms[i];
}
