#include "ftp/ascii.h"

#include <string.h>

size_t ftp_ascii_encode(const char *src, size_t n, char *dst)
{
    size_t o = 0;
    while (n > 0) {
        const char *lf = memchr(src, '\n', n);
        size_t run = lf ? (size_t)(lf - src) : n;
        memcpy(dst + o, src, run);
        o += run;
        if (!lf)
            break;
        dst[o++] = '\r';
        dst[o++] = '\n';
        src += run + 1;
        n -= run + 1;
    }
    return o;
}

size_t ftp_ascii_decode(const char *src, size_t n, char *dst, bool *cr)
{
    size_t o = 0, i = 0;
    if (n == 0)
        return 0;
    if (*cr) {
        *cr = false;
        if (src[0] != '\n')
            dst[o++] = '\r';        /* a lone CR: kept as data */
    }
    while (i < n) {
        const char *r = memchr(src + i, '\r', n - i);
        size_t run = r ? (size_t)(r - (src + i)) : n - i;
        memcpy(dst + o, src + i, run);
        o += run;
        i += run;
        if (!r)
            break;
        i++;                        /* past the CR */
        if (i == n) {
            *cr = true;             /* decided by the next chunk */
            break;
        }
        if (src[i] != '\n')
            dst[o++] = '\r';
    }
    return o;
}

size_t ftp_ascii_decode_end(char *dst, bool *cr)
{
    if (!*cr)
        return 0;
    *cr = false;
    dst[0] = '\r';
    return 1;
}
