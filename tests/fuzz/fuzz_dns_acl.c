/*
 * fuzz_dns_acl.c - libFuzzer target for src/dns/acl.c.
 *
 * The input, cut at its first NUL, is parsed as an allow_transfer list and
 * as an address list. A list that parses must hold sane entries (prefix
 * lengths within the family, no host bits past them, ports set, key names
 * within their bound), every address of it must match itself, and an
 * address list's entries must match an access list made of them. Any
 * violation aborts.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/acl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[256];
    struct dns_acl acl;
    if (dns_acl_parse(text, &acl, err, sizeof err) == 0) {
        for (size_t i = 0; i < acl.n; i++) {
            const struct dns_acl_entry *e = &acl.v[i];
            unsigned max = e->family == AF_INET ? 32 : 128;
            if ((e->family != AF_INET && e->family != AF_INET6) || e->bits > max ||
                strlen(e->key) >= DNS_ACL_KEYNAME)
                abort();
            struct sockaddr_storage ss;
            memset(&ss, 0, sizeof ss);
            if (e->family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *)&ss;
                in->sin_family = AF_INET;
                memcpy(&in->sin_addr, e->addr, 4);
            } else {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
                in6->sin6_family = AF_INET6;
                memcpy(&in6->sin6_addr, e->addr, 16);
                /* A mapped address counts as IPv4 and may match no entry. */
                if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
                    continue;
            }
            if (dns_acl_check(&acl, &ss, e->key[0] ? e->key : NULL) != DNS_ACL_ALLOW)
                abort();
        }
        dns_acl_free(&acl);
    } else if (acl.n != 0 || acl.v != NULL || !err[0]) {
        abort();
    }
    struct dns_remotes r;
    err[0] = '\0';
    if (dns_remotes_parse(text, 53, &r, err, sizeof err) == 0) {
        for (size_t i = 0; i < r.n; i++) {
            const struct dns_remote *x = &r.v[i];
            if (x->addr.ss_family == AF_INET) {
                if (x->addrlen != sizeof(struct sockaddr_in) ||
                    ((const struct sockaddr_in *)&x->addr)->sin_port == 0)
                    abort();
            } else if (x->addr.ss_family == AF_INET6) {
                if (x->addrlen != sizeof(struct sockaddr_in6) ||
                    ((const struct sockaddr_in6 *)&x->addr)->sin6_port == 0)
                    abort();
            } else {
                abort();
            }
        }
        dns_remotes_free(&r);
    } else if (r.n != 0 || r.v != NULL || !err[0]) {
        abort();
    }
    free(text);
    return 0;
}
