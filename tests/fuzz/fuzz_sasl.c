/*
 * fuzz_sasl.c - libFuzzer target for the SASL decoders (auth/sasl.c).
 *
 * Besides memory safety it checks the decoders' promises: a decoded length
 * fits the buffer; the base64 decoder accepts only canonical text (encoding
 * what it returns gives the input back); PLAIN fields are NUL-terminated,
 * within SASL_FIELD_MAX, authcid and passwd non-empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_b64(const char *in, size_t size)
{
    /* Exactly as large as the input can need, so a write past it shows. */
    size_t cap = size / 4 * 3;
    unsigned char *out = malloc(cap ? cap : 1);
    if (!out)
        return;
    int n = sasl_b64_decode(in, size, out, cap);
    if (n >= 0) {
        if ((size_t)n > cap)
            abort();
        size_t elen = size + 1;
        char *enc = malloc(elen);
        if (!enc)
            abort();
        int e = sasl_b64_encode(out, (size_t)n, enc, elen);
        if (e < 0 || (size_t)e != size || memcmp(enc, in, size) != 0)
            abort();
        free(enc);
        /* One byte less room must be refused, not overrun. */
        if (n > 0 && sasl_b64_decode(in, size, out, (size_t)n - 1) >= 0)
            abort();
    }
    free(out);
}

static void check_plain(const char *in, size_t size)
{
    char z[SASL_FIELD_MAX], c[SASL_FIELD_MAX], p[SASL_FIELD_MAX];
    if (sasl_plain_decode(in, size, z, c, p) == 0) {
        size_t zl = strnlen(z, SASL_FIELD_MAX), cl = strnlen(c, SASL_FIELD_MAX),
               pl = strnlen(p, SASL_FIELD_MAX);
        if (zl >= SASL_FIELD_MAX || cl >= SASL_FIELD_MAX || pl >= SASL_FIELD_MAX)
            abort();
        if (cl == 0 || pl == 0)
            abort();
    } else if (z[0] || c[0] || p[0]) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy, so reading one byte past size is caught by ASan. */
    char *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    check_b64(in, size);
    check_plain(in, size);
    free(in);
    return 0;
}
