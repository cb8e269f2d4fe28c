/*
 * lname.c - names prepared for hash lookups. See lname.h.
 */
#include "dns/lname.h"

#include <string.h>

/* The hash of the root name; any odd constant will do. */
#define ROOT_SEED 0x243F6A8885A308D3ull
#define MULT 0x9E3779B97F4A7C15ull

static inline uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Extend the hash of a parent name h with one label p[0..n) (its length
 * octet first), eight octets at a time. The length octet makes the
 * zero-padded last chunk unambiguous. */
static inline uint64_t mix_label(uint64_t h, const uint8_t *p, size_t n)
{
    while (n > 0) {
        uint64_t v = 0;
        size_t k = n < 8 ? n : 8;
        memcpy(&v, p, k);
        h ^= v;
        h *= MULT;
        h ^= h >> 32;
        p += k;
        n -= k;
    }
    return h;
}

static inline uint32_t finish(uint64_t h)
{
    h ^= h >> 29;
    h *= MULT;
    return (uint32_t)(h >> 32);
}

void dns_lname_init(struct dns_lname *ln, const struct dns_name *n)
{
    ln->lower.len = n->len;
    int k = 0;
    size_t pos = 0;
    while (n->wire[pos] != 0) {
        uint8_t l = n->wire[pos];
        ln->off[k++] = (uint8_t)pos;
        ln->lower.wire[pos] = l;
        for (size_t j = 1; j <= l; j++)
            ln->lower.wire[pos + j] = lower(n->wire[pos + j]);
        pos += 1 + (size_t)l;
    }
    ln->lower.wire[pos] = 0;
    ln->off[k] = (uint8_t)pos;
    ln->labels = (uint8_t)k;

    uint64_t h = ROOT_SEED;
    ln->hash[k] = finish(h);
    for (int i = k - 1; i >= 0; i--) {
        const uint8_t *p = ln->lower.wire + ln->off[i];
        h = mix_label(h, p, 1 + (size_t)p[0]);
        ln->hash[i] = finish(h);
    }
}

uint32_t dns_lname_hash(const uint8_t *wire, size_t len)
{
    /* Walk the labels from the root end, as dns_lname_init does. */
    uint8_t off[DNS_NAME_MAXLABELS + 1];
    int k = 0;
    for (size_t pos = 0; pos < len && wire[pos] != 0; pos += 1 + (size_t)wire[pos])
        off[k++] = (uint8_t)pos;
    uint64_t h = ROOT_SEED;
    for (int i = k - 1; i >= 0; i--)
        h = mix_label(h, wire + off[i], 1 + (size_t)wire[off[i]]);
    return finish(h);
}
