/*
 * edns.c - the OPT pseudo-RR and Extended DNS Errors. See edns.h.
 */
#include "dns/edns.h"

#include <errno.h>
#include <string.h>

#include "base/err.h"

static const char *const ede_names[] = {
    "Other Error", "Unsupported DNSKEY Algorithm", "Unsupported DS Digest Type",
    "Stale Answer", "Forged Answer", "DNSSEC Indeterminate", "DNSSEC Bogus",
    "Signature Expired", "Signature Not Yet Valid", "DNSKEY Missing",
    "RRSIGs Missing", "No Zone Key Bit Set", "NSEC Missing", "Cached Error",
    "Not Ready", "Blocked", "Censored", "Filtered", "Prohibited",
    "Stale NXDOMAIN Answer", "Not Authoritative", "Not Supported",
    "No Reachable Authority", "Network Error", "Invalid Data",
};

const char *dns_ede_name(uint16_t info_code)
{
    if (info_code < sizeof ede_names / sizeof ede_names[0])
        return ede_names[info_code];
    return NULL;
}

/* ---- reading ------------------------------------------------------------ */

/* RFC 6891 section 6.1.2: each option is code, length, then exactly length
 * octets, and the options fill the RDATA. */
static bool options_ok(const uint8_t *p, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        if (len - pos < 4)
            return false;
        size_t olen = (size_t)p[pos + 2] << 8 | p[pos + 3];
        if (len - pos - 4 < olen)
            return false;
        pos += 4 + olen;
    }
    return true;
}

enum dns_edns_status dns_edns_get(const struct dns_msg *m, struct dns_edns *e)
{
    memset(e, 0, sizeof *e);
    const struct dns_rr *opt = NULL;
    size_t nopt = 0;
    for (size_t i = m->first[DNS_SECTION_ANSWER]; i < m->nrr; i++) {
        if (m->rr[i].type == DNS_TYPE_OPT) {
            if (!opt)
                opt = &m->rr[i];
            nopt++;
        }
    }
    if (!opt)
        return e->status = DNS_EDNS_NONE;

    /* RFC 6891 section 6.1.3: the TTL field carries the extended RCODE,
     * the version and the flags; the CLASS field the payload size. */
    e->udp_size = opt->rclass < DNS_EDNS_MIN_UDP ? DNS_EDNS_MIN_UDP : opt->rclass;
    e->ext_rcode = (uint8_t)(opt->ttl >> 24);
    e->version = (uint8_t)(opt->ttl >> 16);
    e->do_bit = opt->ttl & 0x8000;
    e->z = (uint16_t)(opt->ttl & 0x7FFF);
    e->options = m->pkt + opt->rdata;
    e->options_len = opt->rdlength;

    struct dns_name owner;
    if (nopt > 1)                                  /* RFC 6891 section 6.1.1 */
        e->status = DNS_EDNS_MULTIPLE;
    else if (opt->section != DNS_SECTION_ADDITIONAL)
        e->status = DNS_EDNS_MISPLACED;
    else if (dns_rr_owner(m, opt, &owner) < 0 || owner.len != 1)
        e->status = DNS_EDNS_BAD_OWNER;            /* RFC 6891 section 6.1.2 */
    else if (!options_ok(e->options, e->options_len))
        e->status = DNS_EDNS_BAD_OPTIONS;
    else
        e->status = DNS_EDNS_OK;
    return e->status;
}

uint16_t dns_edns_rcode(const struct dns_header *h, const struct dns_edns *e)
{
    uint16_t ext = (e && e->status != DNS_EDNS_NONE) ? e->ext_rcode : 0;
    return (uint16_t)(ext << 4 | (h->rcode & 0xF));
}

bool dns_edns_next_option(const struct dns_edns *e, size_t *pos, struct dns_edns_opt *opt)
{
    const uint8_t *p = e->options;
    size_t len = e->options_len;
    if (*pos >= len || len - *pos < 4)
        return false;
    size_t olen = (size_t)p[*pos + 2] << 8 | p[*pos + 3];
    if (len - *pos - 4 < olen)
        return false;
    opt->code = (uint16_t)(p[*pos] << 8 | p[*pos + 1]);
    opt->len = (uint16_t)olen;
    opt->data = p + *pos + 4;
    *pos += 4 + olen;
    return true;
}

bool dns_edns_find_option(const struct dns_edns *e, uint16_t code, struct dns_edns_opt *opt)
{
    size_t pos = 0;
    while (dns_edns_next_option(e, &pos, opt))
        if (opt->code == code)
            return true;
    return false;
}

int dns_edns_read_ede(const struct dns_edns_opt *opt, uint16_t *info_code,
                      const char **text, size_t *text_len)
{
    /* RFC 8914 section 2: INFO-CODE (16 bits), then EXTRA-TEXT. */
    if (opt->len < 2)
        return OP_E_SYNTAX;
    *info_code = (uint16_t)(opt->data[0] << 8 | opt->data[1]);
    *text = (const char *)opt->data + 2;
    *text_len = opt->len - 2u;
    return 0;
}

/* ---- writing ---------------------------------------------------------------- */

static size_t rdata_size(const struct dns_edns_out *o)
{
    return o->ede ? 4 + 2 + o->ede_text_len : 0;
}

size_t dns_edns_size(const struct dns_edns_out *o)
{
    /* root owner (1), TYPE, CLASS, TTL, RDLENGTH (10), the options */
    return 1 + 10 + rdata_size(o);
}

int dns_edns_write(struct dns_writer *w, const struct dns_edns_out *o)
{
    size_t rdlen = rdata_size(o);
    if (rdlen > UINT16_MAX)
        return -EINVAL;
    uint16_t udp = o->udp_size < DNS_EDNS_MIN_UDP ? DNS_EDNS_MIN_UDP : o->udp_size;
    /* RFC 6891 section 6.1.3; Z is sent as zero. */
    uint32_t ttl = (uint32_t)(o->rcode >> 4 & 0xFF) << 24 | (uint32_t)o->version << 16 |
                   (o->do_bit ? 0x8000u : 0);
    struct dns_name root;
    dns_name_set_root(&root);
    uint8_t *p;
    int r = dns_writer_rr_raw(w, DNS_SECTION_ADDITIONAL, &root, DNS_TYPE_OPT, udp, ttl, rdlen, &p);
    if (r < 0 || !o->ede)
        return r;
    /* RFC 8914 section 2: OPTION-CODE 15, OPTION-LENGTH, INFO-CODE, EXTRA-TEXT. */
    size_t olen = 2 + o->ede_text_len;
    p[0] = 0;
    p[1] = DNS_EDNS_EDE;
    p[2] = (uint8_t)(olen >> 8);
    p[3] = (uint8_t)olen;
    p[4] = (uint8_t)(o->ede_code >> 8);
    p[5] = (uint8_t)o->ede_code;
    if (o->ede_text_len)
        memcpy(p + 6, o->ede_text, o->ede_text_len);
    return 0;
}
