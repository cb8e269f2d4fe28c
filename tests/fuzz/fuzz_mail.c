/*
 * fuzz_mail.c - libFuzzer target for what the mail store parses or derives
 * from outside bytes: addresses (auth/accounts.c address_normalize), Maildir
 * file names that other programs may have written (maildir_name_sizes), and
 * the size reported for a message (mail_wire_size).
 *
 * Checked besides memory safety:
 *   - a normalised address is lower case, has one '@', fits ADDRESS_MAX, and
 *     normalising it again changes nothing;
 *   - the size reported for any message equals what the byte-stuffer RETR uses
 *     really sends, minus the doubled dots and the terminator, and does so
 *     whatever the chunking (the size in the file name must never lie).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts.h"
#include "base/buf.h"
#include "mail/maildir.h"
#include "mail/dotstuff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_address(const char *s)
{
    char out[ADDRESS_MAX], again[ADDRESS_MAX];
    if (address_normalize(s, out, sizeof out) != 0)
        return;
    size_t n = strnlen(out, sizeof out);
    if (n == 0 || n >= sizeof out)
        abort();
    const char *at = strchr(out, '@');
    if (!at || strchr(at + 1, '@') || at == out || !at[1])
        abort();
    for (size_t i = 0; i < n; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            abort();
    if (address_normalize(out, again, sizeof again) != 0 || strcmp(out, again) != 0)
        abort();
}

/* What RETR sends for data, with the dot-stuffing and terminator taken out. */
static size_t sent_size(const char *data, size_t size, size_t cut)
{
    struct dotstuff st;
    struct buf out = BUF_INIT;
    dotstuff_init(&st);
    if (dotstuff_buf(&st, &out, data, cut) < 0 ||
        dotstuff_buf(&st, &out, data + cut, size - cut) < 0 || dotstuff_end_buf(&st, &out) < 0)
        abort();
    const char *p = buf_ptr(&out);
    size_t len = buf_len(&out);
    if (len < 3 || memcmp(p + len - 3, ".\r\n", 3) != 0)
        abort();
    len -= 3;
    size_t doubled = 0;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '.' && (i == 0 || p[i - 1] == '\n'))
            doubled++;
    buf_free(&out);
    return len - doubled;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    check_address(s);

    uint64_t sz, wire;
    (void)maildir_name_sizes(s, &sz, &wire);

    size_t cut = size ? data[0] % (size + 1) : 0;
    if (sent_size((const char *)data, size, cut) != mail_wire_size(data, size))
        abort();
    free(s);
    return 0;
}
