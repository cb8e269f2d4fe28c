/*
 * progress.c - the progress bar; see progress.h.
 */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/util.h"

#define PROGRESS_REDRAW_MS 100

void progress_size(uint64_t bytes, char *out, size_t cap)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < ARRAY_LEN(units)) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%llu B", (unsigned long long)bytes);
    else
        snprintf(out, cap, "%.1f %s", v, units[u]);
}

static int term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col > 200 ? 200 : ws.ws_col;
    return 80;
}

static void draw(struct progress *p, bool final)
{
    uint64_t now = clock_ms();
    double secs = (double)(now - p->t0) / 1000.0;
    uint64_t moved = p->bytes - p->offset;
    double rate = secs > 0.05 ? (double)moved / secs : 0;
    char size[24], speed[24], eta[24], tail[96];
    progress_size(p->bytes, size, sizeof size);
    progress_size((uint64_t)rate, speed, sizeof speed);
    if (final) {
        unsigned s = (unsigned)(secs + 0.5);
        snprintf(eta, sizeof eta, "%u:%02u   ", s / 60, s % 60);
    } else if (p->total > p->bytes && rate > 0) {
        unsigned s = (unsigned)((double)(p->total - p->bytes) / rate + 0.5);
        snprintf(eta, sizeof eta, "ETA %u:%02u", s / 60, s % 60);
    } else {
        snprintf(eta, sizeof eta, "ETA --:--");
    }
    snprintf(tail, sizeof tail, " %10s %10s/s %s", size, speed, eta);
    int width = term_width() - 1;
    char line[256];
    int n;
    if (p->total > 0) {
        uint64_t shown = p->bytes < p->total ? p->bytes : p->total;
        int pct = (int)(shown * 100 / p->total);
        int bar = width - 20 - 7 - (int)strlen(tail) - 3;
        if (bar < 5)
            bar = 5;
        if (bar > 60)
            bar = 60;
        int fill = (int)(shown * (uint64_t)bar / p->total);
        char b[64];
        for (int i = 0; i < bar; i++)
            b[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
        b[bar] = '\0';
        n = snprintf(line, sizeof line, "%-20.20s %3d%% [%s]%s", p->name, pct, b, tail);
    } else {
        n = snprintf(line, sizeof line, "%-20.20s%s", p->name, tail);
    }
    if (n > width)
        line[width] = '\0';
    fprintf(stderr, "\r%s\033[K", line);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
    p->last_draw = now;
}

void progress_begin(struct progress *p, const char *name, uint64_t offset, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->on = isatty(STDERR_FILENO);
    const char *base = strrchr(name, '/');
    str_copy(p->name, sizeof p->name, base && base[1] ? base + 1 : name);
    p->total = total;
    p->offset = offset;
    p->bytes = offset;
    p->t0 = clock_ms();
    if (p->on)
        draw(p, false);
}

void progress_update(struct progress *p, uint64_t moved)
{
    p->bytes = p->offset + moved;
    if (p->on && clock_ms() - p->last_draw >= PROGRESS_REDRAW_MS)
        draw(p, false);
}

void progress_end(struct progress *p)
{
    if (p->on)
        draw(p, true);
    p->on = false;
}
