/*
 * fuzz_config.c - libFuzzer target for src/base/config.c.
 *
 * The input is given to cfg_parse() with a callback that reads every byte
 * of the strings it is handed and checks their documented bounds, and to
 * cfg_load_groups() with the program's real schema and its [zone NAME]
 * group (src/cli/settings.c); every error line must name the file, and
 * everything is freed with cfg_free() and cfg_free_groups().
 * Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/config.h"
#include "cli/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int touch(void *arg, const char *section, const char *key, const char *value,
                 int line, char *err, size_t errlen)
{
    size_t *sum = arg;
    size_t ls = strlen(section), lk = strlen(key), lv = strlen(value);
    if (ls == 0 || ls > CFG_MAX_SECTION || lk == 0 || lk > CFG_MAX_NAME || lv > CFG_MAX_LINE)
        abort();
    /* "kind" or "kind NAME": one space at most, each part within its bound. */
    const char *sp = strchr(section, ' ');
    size_t kind = sp ? (size_t)(sp - section) : ls;
    if (kind == 0 || kind > CFG_MAX_NAME || (sp && (!sp[1] || strlen(sp + 1) > CFG_MAX_ITEM ||
                                                    strchr(sp + 1, ' '))))
        abort();
    if (line < 1)
        abort();
    for (size_t i = 0; i < lv; i++)
        *sum += (unsigned char)value[i];
    *sum += (unsigned char)section[0] + (unsigned char)key[lk - 1];
    /* Exercise the callback-error path now and then. */
    if (key[0] == 'X') {
        snprintf(err, errlen, "refused");
        return -1;
    }
    return 0;
}

static void check_errors(struct buf *errs, int nerr)
{
    const char *p = buf_cstr(errs);
    if (!p)
        abort();
    if (strlen(p) != buf_len(errs))
        abort();
    int lines = 0;
    while (*p) {
        if (strncmp(p, "fuzz.conf:", 10) != 0)
            abort();
        const char *e = strchr(p, '\n');
        if (!e)
            abort();
        p = e + 1;
        lines++;
    }
    if (lines != nerr)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t sum = 0;
    int line = -1;
    char err[256];
    int r = cfg_parse(text, size, touch, &sum, &line, err, sizeof err);
    if (r < 0 && (line < 1 || !err[0]))
        abort();
    if (r == 0 && line != 0)
        abort();

    struct settings s;
    memset(&s, 0, sizeof s);
    struct buf errs = BUF_INIT;
    int nerr = cfg_load_groups(settings_schema, settings_nkeys, settings_groups, settings_ngroups,
                               &s, text, size, "fuzz.conf", &errs);
    if (nerr < 0)
        abort();
    check_errors(&errs, nerr);
    if (!s.data || !s.user || !s.cert || !s.key || !s.hostname || !s.default_domain)
        abort();
    if (s.pop3_listen.n < 0 || s.pop3_listen.n > CFG_MAX_ADDRS)
        abort();
    for (size_t i = 0; i < s.zones.n; i++)
        if (!settings_zone_at(&s, i)->name || !settings_zone_at(&s, i)->file)
            abort();
    cfg_free_groups(settings_groups, settings_ngroups, &s);
    cfg_free(settings_schema, settings_nkeys, &s);
    buf_free(&errs);
    return 0;
}
