#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_level = LOG_LVL_INFO;
static bool g_syslog;

int log_setup(const char *dest, enum log_level level)
{
    g_level = level;
    if (dest && strcmp(dest, "syslog") == 0) {
        if (!g_syslog)
            openlog("outpost", LOG_PID | LOG_NDELAY, LOG_MAIL);
        g_syslog = true;
    } else {
        if (g_syslog)
            closelog();
        g_syslog = false;
    }
    return 0;
}

bool log_enabled(enum log_level lvl)
{
    return lvl <= g_level;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl > g_level)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* A log line is one line: control characters from peers are neutralised. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (g_syslog) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        syslog(prio[lvl], "%s", line);
        return;
    }
    static const char *const names[] = {"error", "warning", "info", "debug"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char out[2200];
    int n = snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[lvl], line);
    if (n > (int)sizeof out - 1)
        n = (int)sizeof out - 1;
    /* One write() per line so lines from several threads never interleave. */
    ssize_t w = write(STDERR_FILENO, out, (size_t)n);
    (void)w;
}
