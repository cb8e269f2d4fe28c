/*
 * fuzz_dns_name.c - libFuzzer target for the text side of src/dns/name.c
 * and the mnemonics of src/dns/consts.c.
 *
 * The input is split at its first newline into two texts, A and B. Each
 * that parses as a name (absolute, and relative to the other when that
 * parses) must print and parse back to the same octets, be equal to its
 * lower-cased self, and lie under the root. For two names, comparison must
 * be antisymmetric, agree with dns_name_equal(), and put a name after any
 * parent of it (RFC 4034 section 6.1). A as a type or class mnemonic must
 * print and parse back to the same number. Any violation aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/consts.h"
#include "dns/name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

static void check_name(const struct dns_name *n)
{
    if (n->len < 1 || n->wire[n->len - 1] != 0 || dns_name_labels(n) > DNS_NAME_MAXLABELS)
        abort();
    /* the labels cover the wire exactly */
    size_t pos = 0;
    while (n->wire[pos] != 0) {
        if (n->wire[pos] > DNS_LABEL_MAX)
            abort();
        pos += 1 + (size_t)n->wire[pos];
        if (pos >= n->len)
            abort();
    }
    if (pos != (size_t)n->len - 1)
        abort();

    char text[DNS_NAME_MAXTEXT];
    int len = dns_name_to_text(n, text, sizeof text);
    if (len <= 0 || text[len - 1] != '.')
        abort();
    struct dns_name back;
    if (dns_name_from_text(&back, text, (size_t)len, NULL) != 0 || back.len != n->len ||
        memcmp(back.wire, n->wire, n->len) != 0)
        abort();
    /* a too small buffer is refused, never overrun */
    if (dns_name_to_text(n, text, (size_t)len) >= 0)
        abort();

    struct dns_name low = *n, root;
    dns_name_lower(&low);
    dns_name_set_root(&root);
    if (!dns_name_equal(n, &low) || dns_name_compare(n, &low) != 0 ||
        !dns_name_is_subdomain(n, &root) || !dns_name_is_subdomain(n, n))
        abort();
}

static void check_pair(const struct dns_name *a, const struct dns_name *b)
{
    int ab = dns_name_compare(a, b), ba = dns_name_compare(b, a);
    if (sign(ab) != -sign(ba))
        abort();
    if ((ab == 0) != dns_name_equal(a, b))
        abort();
    if (dns_name_is_subdomain(a, b) && ab < 0)
        abort();
    if (dns_name_is_subdomain(a, b) && dns_name_is_subdomain(b, a) && ab != 0)
        abort();
}

static void check_mnemonics(const char *s, size_t len)
{
    uint16_t v, back;
    char buf[DNS_MNEMONIC_MAX];
    if (dns_type_from_text(s, len, &v) == 0) {
        const char *t = dns_type_to_text(v, buf);
        if (dns_type_from_text(t, strlen(t), &back) != 0 || back != v)
            abort();
    }
    if (dns_class_from_text(s, len, &v) == 0) {
        const char *t = dns_class_to_text(v, buf);
        if (dns_class_from_text(t, strlen(t), &back) != 0 || back != v)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t alen = nl ? (size_t)(nl - in) : size;
    const char *b = nl ? nl + 1 : in + size;
    size_t blen = size - alen - (nl ? 1 : 0);

    check_mnemonics(in, alen);

    struct dns_name a, bn, rel;
    bool has_a = dns_name_from_text(&a, in, alen, NULL) == 0;
    bool has_b = dns_name_from_text(&bn, b, blen, NULL) == 0;
    if (has_a)
        check_name(&a);
    if (has_b)
        check_name(&bn);
    if (has_a && has_b) {
        check_pair(&a, &bn);
        if (dns_name_from_text(&rel, b, blen, &a) == 0) {
            check_name(&rel);
            check_pair(&rel, &a);
            /* a relative name ends up under its origin */
            if (blen > 0 && b[blen - 1] != '.' && !dns_name_is_subdomain(&rel, &a))
                abort();
        }
    }
    return 0;
}
