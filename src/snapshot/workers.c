/* Worker pool (see workers.h). Jobs are claimed with one atomic counter,
 * so the list is consumed in order with no queue to fill. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workers.h"

#define POLL_NS 50000000L /* the caller's thread wakes this often to draw and check cancel */

struct pool {
    const struct snap_pool_def *d;
    atomic_size_t next;
    atomic_bool stop;
    atomic_size_t running;
    pthread_mutex_t lock;
    int err; /* first error, under lock */
    char errbuf[NU_ERRMSG_MAX];
};

static void fail(struct pool *p, int rc, const char *msg)
{
    pthread_mutex_lock(&p->lock);
    if (p->err == 0) {
        p->err = rc;
        snprintf(p->errbuf, sizeof(p->errbuf), "%s", msg);
    }
    pthread_mutex_unlock(&p->lock);
    atomic_store(&p->stop, true);
}

struct worker {
    struct pool *p;
    size_t index;
    pthread_t th;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *p = w->p;
    const struct snap_pool_def *d = p->d;
    char err[NU_ERRMSG_MAX] = "";
    void *state = NULL;
    int rc = d->init != NULL ? d->init(d->ctx, w->index, &state, err) : 0;
    if (rc < 0)
        fail(p, rc, err);
    while (rc == 0 && !atomic_load(&p->stop)) {
        size_t job = atomic_fetch_add(&p->next, 1);
        if (job >= d->njobs)
            break;
        if ((rc = d->job(d->ctx, state, job, err)) < 0)
            fail(p, rc, err);
    }
    if (d->fini != NULL) {
        int frc = d->fini(d->ctx, state, rc == 0 && !atomic_load(&p->stop), err);
        if (frc < 0 && rc == 0)
            fail(p, frc, err);
    }
    atomic_fetch_sub(&p->running, 1);
    return NULL;
}

static void nap(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

int snap_pool_run(const struct snap_pool_def *d, char *errbuf)
{
    struct pool p = {.d = d};
    struct worker ws[SNAP_PARALLEL_MAX];
    size_t n = d->nworkers < 1                   ? 1
               : d->nworkers > SNAP_PARALLEL_MAX ? SNAP_PARALLEL_MAX
                                                 : d->nworkers;
    if (n > d->njobs)
        n = d->njobs > 0 ? d->njobs : 1;
    pthread_mutex_init(&p.lock, NULL);
    atomic_store(&p.running, n);
    size_t started = 0;
    for (; started < n; started++) {
        ws[started] = (struct worker){.p = &p, .index = started};
        if (pthread_create(&ws[started].th, NULL, worker_main, &ws[started]) != 0) {
            atomic_fetch_sub(&p.running, n - started);
            fail(&p, NU_ENOMEM, "cannot start a worker thread");
            break;
        }
    }
    bool cancelled = false;
    while (atomic_load(&p.running) > 0) {
        nap(POLL_NS);
        if (d->progress != NULL)
            snap_progress_draw(d->progress, false);
        if (d->tick != NULL)
            d->tick(d->ctx);
        if (d->cancel != NULL && *d->cancel && !cancelled) {
            cancelled = true;
            fail(&p, NU_ESTATE, "interrupted");
        }
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(ws[i].th, NULL);
    pthread_mutex_destroy(&p.lock);
    if (p.err != 0)
        return nu_err_set(errbuf, p.err, "%s", p.errbuf);
    return 0;
}
