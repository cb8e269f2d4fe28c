/* libFuzzer target for TYPE A conversion (src/ftp/ascii.c): the first byte
 * picks where the input is cut in two, as two reads from the network
 * would cut it. Checks: the decoded output never depends on the cut, it
 * is never longer than the input, and encoding then decoding gives the
 * input back. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ftp/ascii.h"

static size_t decode2(const char *p, size_t n, size_t cut, char *out)
{
    bool cr = false;
    size_t o = ftp_ascii_decode(p, cut, out, &cr);
    o += ftp_ascii_decode(p + cut, n - cut, out + o, &cr);
    o += ftp_ascii_decode_end(out + o, &cr);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cut = data[0];
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (cut > n)
        cut = n;
    char *whole = malloc(n + 1), *split = malloc(n + 1), *wire = malloc(2 * n + 1),
         *back = malloc(2 * n + 2);
    if (!whole || !split || !wire || !back)
        abort();
    size_t a = decode2(p, n, n, whole);
    size_t b = decode2(p, n, cut, split);
    if (a != b || memcmp(whole, split, a) != 0 || a > n)
        abort();
    size_t w = ftp_ascii_encode(p, n, wire);
    size_t r = decode2(wire, w, w / 2, back);
    if (r != n || memcmp(back, p, n) != 0)
        abort();
    free(whole);
    free(split);
    free(wire);
    free(back);
    return 0;
}
