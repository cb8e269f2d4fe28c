/*
 * edns.h - EDNS(0): the OPT pseudo-RR (RFC 6891) and the Extended DNS
 * Error option (RFC 8914).
 *
 * The OPT RR reuses the RR fields (RFC 6891 section 6.1.2):
 *   owner  the root name
 *   TYPE   41
 *   CLASS  the sender's UDP payload size
 *   TTL    extended RCODE (8 bits) | VERSION (8) | DO (1) | Z (15)
 *   RDATA  options: { code (16), length (16), data } ...
 *
 * Reading: dns_edns_get() looks at a parsed message and says whether the
 * sender used EDNS and whether its OPT RR breaks a rule. It decides
 * nothing: a server answers FORMERR to DNS_EDNS_MULTIPLE, _BAD_OWNER,
 * _MISPLACED and _BAD_OPTIONS, and BADVERS to a version it does not
 * support (RFC 6891 section 6.1.3); a client may be more forgiving.
 *
 * Writing: dns_edns_write() adds the OPT RR to a writer's additional
 * section. Reserve dns_edns_size() octets first (dns_writer_reserve) and
 * release them just before, so that the OPT RR still fits when the
 * answers do not (RFC 6891 section 7: a truncated response keeps it).
 *
 * Pure functions, no allocation; option data points into the message.
 */
#ifndef OP_DNS_EDNS_H
#define OP_DNS_EDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"
#include "dns/writer.h"

/* The smallest payload size a sender may claim: smaller values count as
 * 512 (RFC 6891 section 6.2.5). */
#define DNS_EDNS_MIN_UDP 512

/* Option codes (IANA "DNS EDNS0 Option Codes"). */
enum {
    DNS_EDNS_NSID = 3,           /* RFC 5001 */
    DNS_EDNS_CLIENT_SUBNET = 8,  /* RFC 7871 */
    DNS_EDNS_EXPIRE = 9,         /* RFC 7314 */
    DNS_EDNS_COOKIE = 10,        /* RFC 7873 */
    DNS_EDNS_KEEPALIVE = 11,     /* RFC 7828 */
    DNS_EDNS_PADDING = 12,       /* RFC 7830 */
    DNS_EDNS_EDE = 15,           /* RFC 8914 */
};

/* Extended DNS Error info-codes (RFC 8914 section 4). */
enum {
    DNS_EDE_OTHER = 0, DNS_EDE_UNSUPPORTED_DNSKEY_ALG = 1,
    DNS_EDE_UNSUPPORTED_DS_DIGEST = 2, DNS_EDE_STALE_ANSWER = 3,
    DNS_EDE_FORGED_ANSWER = 4, DNS_EDE_DNSSEC_INDETERMINATE = 5,
    DNS_EDE_DNSSEC_BOGUS = 6, DNS_EDE_SIGNATURE_EXPIRED = 7,
    DNS_EDE_SIGNATURE_NOT_YET_VALID = 8, DNS_EDE_DNSKEY_MISSING = 9,
    DNS_EDE_RRSIGS_MISSING = 10, DNS_EDE_NO_ZONE_KEY_BIT = 11,
    DNS_EDE_NSEC_MISSING = 12, DNS_EDE_CACHED_ERROR = 13, DNS_EDE_NOT_READY = 14,
    DNS_EDE_BLOCKED = 15, DNS_EDE_CENSORED = 16, DNS_EDE_FILTERED = 17,
    DNS_EDE_PROHIBITED = 18, DNS_EDE_STALE_NXDOMAIN = 19,
    DNS_EDE_NOT_AUTHORITATIVE = 20, DNS_EDE_NOT_SUPPORTED = 21,
    DNS_EDE_NO_REACHABLE_AUTHORITY = 22, DNS_EDE_NETWORK_ERROR = 23,
    DNS_EDE_INVALID_DATA = 24,
};

/* The sentence RFC 8914 section 4 gives an info-code ("Prohibited"), or
 * NULL for a code it does not list. */
const char *dns_ede_name(uint16_t info_code);

enum dns_edns_status {
    DNS_EDNS_NONE,         /* no OPT RR: the sender does not use EDNS */
    DNS_EDNS_OK,           /* one OPT RR, in the additional section, well-formed */
    DNS_EDNS_MULTIPLE,     /* more than one OPT RR (RFC 6891 section 6.1.1) */
    DNS_EDNS_BAD_OWNER,    /* its owner is not the root (RFC 6891 section 6.1.2) */
    DNS_EDNS_MISPLACED,    /* an OPT RR in the answer or authority section */
    DNS_EDNS_BAD_OPTIONS,  /* an option overruns the RDATA (RFC 6891 section 6.1.2) */
};

struct dns_edns {
    enum dns_edns_status status;
    /* The rest describes the message's first OPT RR, when status is not
     * DNS_EDNS_NONE (and is zero otherwise). */
    uint16_t udp_size;      /* the CLASS field, raised to DNS_EDNS_MIN_UDP */
    uint8_t ext_rcode;      /* the upper 8 bits of the 12-bit RCODE */
    uint8_t version;
    bool do_bit;            /* DNSSEC OK (RFC 3225) */
    uint16_t z;             /* the other 15 flag bits, as received */
    const uint8_t *options; /* the RDATA: the option list */
    uint16_t options_len;
};

struct dns_edns_opt {
    uint16_t code;
    uint16_t len;
    const uint8_t *data;
};

/* Find and read the OPT RR of a parsed message; returns e->status. */
enum dns_edns_status dns_edns_get(const struct dns_msg *m, struct dns_edns *e);

/* The full RCODE of a response: the header's 4 bits and the OPT RR's 8
 * (RFC 6891 section 6.1.3); e may be NULL or say DNS_EDNS_NONE. */
uint16_t dns_edns_rcode(const struct dns_header *h, const struct dns_edns *e);

/* Iterate over the options: start with *pos = 0; returns true and fills
 * opt while there is one. Stops early if the list is malformed. */
bool dns_edns_next_option(const struct dns_edns *e, size_t *pos, struct dns_edns_opt *opt);

/* The first option with this code: true and *opt filled, or false. */
bool dns_edns_find_option(const struct dns_edns *e, uint16_t code, struct dns_edns_opt *opt);

/* Read an Extended DNS Error option (RFC 8914 section 2): the info-code,
 * and the EXTRA-TEXT (UTF-8, not NUL-terminated, maybe empty). 0, or
 * OP_E_SYNTAX if the option is shorter than its 2-octet info-code. */
int dns_edns_read_ede(const struct dns_edns_opt *opt, uint16_t *info_code,
                      const char **text, size_t *text_len);

/* What to put in an OPT RR. */
struct dns_edns_out {
    uint16_t udp_size;      /* our payload size; below 512 is sent as 512 */
    uint16_t rcode;         /* the full 12-bit RCODE: the OPT RR takes its
                             * upper 8 bits; the header gets rcode & 0xF */
    uint8_t version;        /* 0: the only version there is */
    bool do_bit;
    bool ede;               /* add an Extended DNS Error option */
    uint16_t ede_code;
    const char *ede_text;   /* UTF-8, may be NULL; sent without a NUL */
    size_t ede_text_len;
};

/* Octets the OPT RR for o takes in a message (for dns_writer_reserve). */
size_t dns_edns_size(const struct dns_edns_out *o);

/* Add the OPT RR to w's additional section: 0, -EMSGSIZE (nothing
 * written), or -EINVAL (the text makes the RDATA too long for a message). */
int dns_edns_write(struct dns_writer *w, const struct dns_edns_out *o);

#endif
