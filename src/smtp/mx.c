/* MX answers and their order: see mx.h. */
#include "smtp/mx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dns/consts.h"
#include "dns/wire.h"

/* Parse resp; the answer section's entries in *ans (caller frees *rrs). */
static int parse(const uint8_t *resp, size_t len, struct dns_msg *m, struct dns_rr **rrs)
{
    size_t max = DNS_MSG_MAXRR(len);
    *rrs = malloc((max ? max : 1) * sizeof **rrs);
    if (!*rrs)
        return -ENOMEM;
    return dns_msg_parse(m, resp, len, *rrs, max);
}

enum mx_result mx_parse(const uint8_t *resp, size_t len, struct mx_host *out, size_t max,
                        size_t *n)
{
    *n = 0;
    struct dns_msg m;
    struct dns_rr *rrs;
    enum mx_result res = MX_TEMPFAIL;
    if (parse(resp, len, &m, &rrs) < 0 || !m.hdr.qr)
        goto out;
    if (m.hdr.rcode == DNS_RCODE_NXDOMAIN) {
        res = MX_NXDOMAIN;
        goto out;
    }
    if (m.hdr.rcode != DNS_RCODE_NOERROR || m.hdr.tc)
        goto out;
    size_t na;
    const struct dns_rr *ans = dns_msg_section(&m, DNS_SECTION_ANSWER, &na);
    bool null_mx = false;
    uint8_t rd[DNS_NAME_MAXWIRE + 2 + 16];
    for (size_t i = 0; i < na; i++) {
        /* A CNAME chain may precede the records; every MX in the answer
         * belongs to the name asked about (the resolver followed it). */
        if (ans[i].type != DNS_TYPE_MX || ans[i].rclass != DNS_CLASS_IN)
            continue;
        int k = dns_rr_rdata(&m, &ans[i], rd, sizeof rd, 0);
        if (k < 3)
            continue;
        struct dns_name name;
        if (dns_name_from_wire(&name, rd + 2, (size_t)k - 2) < 0)
            continue;
        if (name.len == 1) {        /* the root: RFC 7505 section 3 */
            null_mx = true;
            continue;
        }
        if (*n >= max)
            continue;
        struct mx_host *h = &out[*n];
        h->pref = (uint16_t)(rd[0] << 8 | rd[1]);
        h->name = name;
        dns_name_lower(&h->name);
        int tl = dns_name_to_text(&h->name, h->text, sizeof h->text);
        if (tl <= 1)
            continue;
        h->text[tl - 1] = '\0';     /* no final dot */
        (*n)++;
    }
    /* RFC 7505 section 3: a null MX says the domain takes no mail; other
     * records beside it are a mistake, and the null MX still wins. */
    if (null_mx)
        res = MX_NULL;
    else
        res = *n ? MX_FOUND : MX_NODATA;
    if (null_mx)
        *n = 0;
out:
    free(rrs);
    return res;
}

void mx_order(struct mx_host *h, size_t n, uint32_t (*rnd)(uint32_t bound))
{
    /* Insertion sort by preference (n is small), then a Fisher-Yates
     * shuffle within each run of equal preference. */
    for (size_t i = 1; i < n; i++) {
        struct mx_host t = h[i];
        size_t j = i;
        for (; j > 0 && h[j - 1].pref > t.pref; j--)
            h[j] = h[j - 1];
        h[j] = t;
    }
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && h[b].pref == h[a].pref)
            b++;
        for (size_t i = b - 1; i > a; i--) {
            size_t j = a + rnd((uint32_t)(i - a + 1));
            if (j != i) {
                struct mx_host t = h[i];
                h[i] = h[j];
                h[j] = t;
            }
        }
        a = b;
    }
}

int mx_addrs_parse(const uint8_t *resp, size_t len, uint16_t qtype, uint16_t port,
                   struct sockaddr_storage *out, size_t max)
{
    struct dns_msg m;
    struct dns_rr *rrs;
    int res = -EAGAIN;
    if (parse(resp, len, &m, &rrs) < 0 || !m.hdr.qr)
        goto out;
    if (m.hdr.rcode == DNS_RCODE_NXDOMAIN) {
        res = 0;
        goto out;
    }
    if (m.hdr.rcode != DNS_RCODE_NOERROR || m.hdr.tc)
        goto out;
    size_t na, k = 0;
    const struct dns_rr *ans = dns_msg_section(&m, DNS_SECTION_ANSWER, &na);
    for (size_t i = 0; i < na && k < max; i++) {
        if (ans[i].type != qtype || ans[i].rclass != DNS_CLASS_IN)
            continue;
        const uint8_t *rd = m.pkt + ans[i].rdata;
        memset(&out[k], 0, sizeof out[k]);
        if (qtype == DNS_TYPE_A && ans[i].rdlength == 4) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&out[k];
            s4->sin_family = AF_INET;
            s4->sin_port = htons(port);
            memcpy(&s4->sin_addr, rd, 4);
            k++;
        } else if (qtype == DNS_TYPE_AAAA && ans[i].rdlength == 16) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out[k];
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons(port);
            memcpy(&s6->sin6_addr, rd, 16);
            k++;
        }
    }
    res = (int)k;
out:
    free(rrs);
    return res;
}
