/*
 * acl.c - allow_transfer access lists and notify/primaries address lists
 * (see acl.h for the grammar).
 */
#include "dns/acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"

#define ENTRY_MAX 300                /* one entry's text, with room for a long key name */

/* The next comma-separated entry of *s into buf, trimmed; false at the end. */
static bool next_entry(const char **s, char *buf, size_t cap, bool *toolong)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    if (!*p)
        return false;
    const char *end = strchrnul(p, ',');
    *s = end;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - p);
    *toolong = n >= cap;
    if (*toolong)
        n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return true;
}

/* Split "WHERE [key NAME]" in place: *where and *key ("" without). */
static int split_key(char *entry, char **where, char **key, char *err, size_t errlen)
{
    char *save = NULL;
    char *w = strtok_r(entry, " \t", &save);
    char *kw = strtok_r(NULL, " \t", &save);
    char *name = strtok_r(NULL, " \t", &save);
    char *extra = strtok_r(NULL, " \t", &save);
    *where = w;
    *key = "";
    if (!kw)
        return 0;
    if (strcasecmp(kw, "key") != 0 || !name || extra) {
        snprintf(err, errlen, "'%s': expected 'ADDRESS' or 'ADDRESS key NAME'", w);
        return OP_E_SYNTAX;
    }
    size_t n = strlen(name);
    if (n >= DNS_ACL_KEYNAME) {
        snprintf(err, errlen, "'%s': key name too long", w);
        return OP_E_SYNTAX;
    }
    *key = name;
    return 0;
}

static bool parse_ip(const char *s, int *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, s, addr) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, addr) == 1) {
        *family = AF_INET6;
        return true;
    }
    return false;
}

/* Make room in *v (holding n elements of size, *cap allocated) for one more. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? 2 * *cap : 4;
    void *nv = realloc(*v, ncap * size);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

int dns_acl_parse(const char *text, struct dns_acl *out, char *err, size_t errlen)
{
    out->n = 0;
    out->v = NULL;
    size_t cap = 0;
    char buf[ENTRY_MAX];
    bool toolong;
    const char *s = text ? text : "";
    while (next_entry(&s, buf, sizeof buf, &toolong)) {
        if (toolong) {
            snprintf(err, errlen, "an entry is too long");
            goto fail;
        }
        char *where, *key;
        if (split_key(buf, &where, &key, err, errlen) < 0)
            goto fail;
        struct dns_acl_entry e;
        memset(&e, 0, sizeof e);
        char *slash = strchr(where, '/');
        if (slash)
            *slash = '\0';
        if (!parse_ip(where, &e.family, e.addr)) {
            snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", where);
            goto fail;
        }
        unsigned maxbits = e.family == AF_INET ? 32 : 128;
        e.bits = maxbits;
        if (slash) {
            char *end;
            errno = 0;
            unsigned long b = strtoul(slash + 1, &end, 10);
            if (!slash[1] || *end || errno || b > maxbits) {
                snprintf(err, errlen, "'%s/%s': the prefix length must be 0..%u", where,
                         slash + 1, maxbits);
                goto fail;
            }
            e.bits = (unsigned)b;
        }
        /* Host bits past the prefix length: refuse rather than guess. */
        for (unsigned bit = e.bits; bit < maxbits; bit++) {
            if (e.addr[bit / 8] & (0x80u >> (bit % 8))) {
                snprintf(err, errlen, "'%s/%u' has bits set past the prefix length", where,
                         e.bits);
                goto fail;
            }
        }
        memcpy(e.key, key, strlen(key) + 1);
        if (grow((void **)&out->v, &cap, out->n, sizeof *out->v) < 0) {
            dns_acl_free(out);
            return -ENOMEM;
        }
        out->v[out->n++] = e;
    }
    return 0;
fail:
    dns_acl_free(out);
    return OP_E_SYNTAX;
}

void dns_acl_free(struct dns_acl *acl)
{
    free(acl->v);
    acl->v = NULL;
    acl->n = 0;
}

bool dns_acl_key_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && a[la - 1] == '.')
        la--;
    if (lb && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* The peer's address as family and octets; an IPv4-mapped IPv6 address
 * counts as IPv4. */
static bool peer_octets(const struct sockaddr_storage *ss, int *family, const uint8_t **addr)
{
    if (ss->ss_family == AF_INET) {
        *family = AF_INET;
        *addr = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            *family = AF_INET;
            *addr = a6->s6_addr + 12;
        } else {
            *family = AF_INET6;
            *addr = a6->s6_addr;
        }
        return true;
    }
    return false;
}

static bool covers(const struct dns_acl_entry *e, int family, const uint8_t *addr)
{
    if (e->family != family)
        return false;
    unsigned full = e->bits / 8, rest = e->bits % 8;
    if (memcmp(e->addr, addr, full) != 0)
        return false;
    if (rest) {
        uint8_t mask = (uint8_t)(0xffu << (8 - rest));
        if ((e->addr[full] & mask) != (addr[full] & mask))
            return false;
    }
    return true;
}

enum dns_acl_verdict dns_acl_check(const struct dns_acl *acl, const struct sockaddr_storage *peer,
                                   const char *keyname)
{
    int family;
    const uint8_t *addr;
    if (!peer_octets(peer, &family, &addr))
        return DNS_ACL_REFUSE;
    bool covered = false;
    for (size_t i = 0; i < acl->n; i++) {
        const struct dns_acl_entry *e = &acl->v[i];
        if (!covers(e, family, addr))
            continue;
        covered = true;
        if (!e->key[0] || (keyname && keyname[0] && dns_acl_key_equal(e->key, keyname)))
            return DNS_ACL_ALLOW;
    }
    return covered ? DNS_ACL_NEEDKEY : DNS_ACL_REFUSE;
}

/* "ADDR", "ADDR:PORT", "[ADDR6]:PORT" or a bare IPv6 address. */
static int parse_remote(const char *where, uint16_t dport, struct dns_remote *r, char *err,
                        size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 8];
    const char *portstr = NULL;
    size_t n = strlen(where);
    if (where[0] == '[') {
        const char *close = strchr(where, ']');
        if (!close || (close[1] && close[1] != ':') || (size_t)(close - where - 1) >= sizeof host)
            goto bad;
        memcpy(host, where + 1, (size_t)(close - where - 1));
        host[close - where - 1] = '\0';
        if (close[1] == ':')
            portstr = close + 2;
    } else {
        const char *colon = strchr(where, ':');
        if (colon && strchr(colon + 1, ':'))
            colon = NULL;                       /* a bare IPv6 address */
        size_t hl = colon ? (size_t)(colon - where) : n;
        if (hl >= sizeof host)
            goto bad;
        memcpy(host, where, hl);
        host[hl] = '\0';
        if (colon)
            portstr = colon + 1;
    }
    unsigned long port = dport;
    if (portstr) {
        char *end;
        errno = 0;
        port = strtoul(portstr, &end, 10);
        if (!*portstr || *end || errno || port == 0 || port > 65535) {
            snprintf(err, errlen, "'%s': the port must be 1..65535", where);
            return OP_E_SYNTAX;
        }
    }
    int family;
    uint8_t addr[16];
    if (!parse_ip(host, &family, addr))
        goto bad;
    memset(&r->addr, 0, sizeof r->addr);
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&r->addr;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        memcpy(&in->sin_addr, addr, 4);
        r->addrlen = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&r->addr;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        memcpy(&in6->sin6_addr, addr, 16);
        r->addrlen = sizeof *in6;
    }
    return 0;
bad:
    snprintf(err, errlen, "'%s' is not an address (ADDR, ADDR:PORT or [ADDR6]:PORT)", where);
    return OP_E_SYNTAX;
}

int dns_remotes_parse(const char *text, uint16_t port, struct dns_remotes *out, char *err,
                      size_t errlen)
{
    out->n = 0;
    out->v = NULL;
    size_t cap = 0;
    char buf[ENTRY_MAX];
    bool toolong;
    const char *s = text ? text : "";
    while (next_entry(&s, buf, sizeof buf, &toolong)) {
        if (toolong) {
            snprintf(err, errlen, "an entry is too long");
            goto fail;
        }
        char *where, *key;
        struct dns_remote r;
        memset(&r, 0, sizeof r);
        if (split_key(buf, &where, &key, err, errlen) < 0 ||
            parse_remote(where, port, &r, err, errlen) < 0)
            goto fail;
        memcpy(r.key, key, strlen(key) + 1);
        if (grow((void **)&out->v, &cap, out->n, sizeof *out->v) < 0) {
            dns_remotes_free(out);
            return -ENOMEM;
        }
        out->v[out->n++] = r;
    }
    return 0;
fail:
    dns_remotes_free(out);
    return OP_E_SYNTAX;
}

void dns_remotes_free(struct dns_remotes *r)
{
    free(r->v);
    r->v = NULL;
    r->n = 0;
}
