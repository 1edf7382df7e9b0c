/* Daemon signals on a libuv loop (see sigs.h). */
#include <signal.h>
#include <string.h>
#include "sigs.h"

static const int signums[NU_SIGS_N] = {SIGHUP, SIGTERM, SIGINT};

static void on_signal(uv_signal_t *h, int signum)
{
    struct nu_sigs *s = h->data;
    s->fn(s->data, signum);
}

int nu_sigs_start(struct nu_sigs *s, uv_loop_t *loop, nu_sigs_fn fn, void *data, char *errbuf)
{
    memset(s, 0, sizeof(*s));
    s->fn = fn;
    s->data = data;
    for (unsigned i = 0; i < NU_SIGS_N; i++) {
        int rc = uv_signal_init(loop, &s->h[i]);
        if (rc != 0)
            return nu_err_set(errbuf, NU_EINVAL, "cannot watch %s: %s", nu_sig_name(signums[i]),
                              uv_strerror(rc));
        s->ninit++;
        s->h[i].data = s;
        rc = uv_signal_start(&s->h[i], on_signal, signums[i]);
        if (rc != 0)
            return nu_err_set(errbuf, NU_EINVAL, "cannot watch %s: %s", nu_sig_name(signums[i]),
                              uv_strerror(rc));
    }
    return 0;
}

void nu_sigs_close(struct nu_sigs *s)
{
    if (s->closed)
        return;
    s->closed = true;
    for (unsigned i = 0; i < s->ninit; i++)
        uv_close((uv_handle_t *)&s->h[i], NULL);
    /* Closing the last handle of a signal gives it back its default
     * action (libuv resets it); the daemon is only tidying up now, so a
     * late signal must not turn a clean exit into a kill. */
    struct sigaction ign;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    for (unsigned i = 0; i < NU_SIGS_N; i++)
        sigaction(signums[i], &ign, NULL);
}

const char *nu_sig_name(int signum)
{
    switch (signum) {
    case SIGHUP:
        return "SIGHUP";
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    default:
        return "signal";
    }
}
