/* Helpers shared by the subcommands. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "error.h"
#include "redact.h"

volatile sig_atomic_t cli_cancelled;

#define CLI_ERROR_MAX 4096

/* The one error line of a command; URLs in it lose their credentials. */
void cli_error(const char *cmd, const char *fmt, ...)
{
    char text[CLI_ERROR_MAX], clean[CLI_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0)
        text[0] = '\0';
    nu_redact(text, clean, sizeof(clean));
    fprintf(stderr, "nearup %s: %s\n", cmd, clean);
}

static void on_signal(int sig)
{
    (void)sig;
    cli_cancelled = 1;
}

void cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return NU_EINVAL;
    *out = v;
    return 0;
}
