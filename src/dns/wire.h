/*
 * wire.h - reading DNS messages (RFC 1035 section 4.1).
 *
 * dns_msg_parse() checks a whole message and records where everything is;
 * it copies nothing and allocates nothing. The caller gives an array for
 * the entries (questions and RRs of all four sections, in message order);
 * DNS_MSG_MAXRR(len) entries always suffice for a message of len octets,
 * because every question takes at least 5 octets and every RR at least 11.
 * The header's counts are checked against that arithmetic before anything
 * else is read, so a 12-octet message claiming 65535 answers costs nothing.
 *
 * What a successful parse guarantees:
 *   - every owner name is valid (dns_name_read's rules) and so is every
 *     name inside RDATA of the types in rdnames.h, whose layout is checked
 *     too: dns_rr_owner() and dns_rr_rdata() cannot then fail, except for
 *     a too small output buffer;
 *   - every RR's RDATA lies inside the message.
 * What it does not judge (the caller's policy): QDCOUNT values other than
 * 1, opcodes, EDNS (edns.h), TSIG placement, TTLs with the top bit set
 * (RFC 2181 section 8 says to read them as 0), RDATA of types without
 * names (an A record of 3 octets passes), and octets after the last entry:
 * m->trailing counts them. A server may answer FORMERR to those, a
 * resolver may ignore them as BIND does; TSIG verification must refuse
 * them (the TSIG RR has to be last, RFC 8945 section 5.2).
 *
 * Errors: -EBADMSG (the message ends early: short header, counts that
 * cannot fit, a name, RR or RDATA cut off), OP_E_SYNTAX (malformed: a bad
 * label or pointer, RDATA not matching its type's layout),
 * OP_E_TOOLONG (a name over 255 octets, a message over 65535),
 * OP_E_LIMIT (more entries than the caller's array holds). A server answers
 * all of them with FORMERR when it can read the header, or drops the
 * message when it cannot.
 */
#ifndef OP_DNS_WIRE_H
#define OP_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/consts.h"
#include "dns/name.h"

enum dns_section {
    DNS_SECTION_QUESTION, DNS_SECTION_ANSWER, DNS_SECTION_AUTHORITY,
    DNS_SECTION_ADDITIONAL,
};
#define DNS_SECTIONS 4

/* The largest message: a TCP message's length is 16 bits (RFC 1035
 * section 4.2.2). */
#define DNS_MSG_MAX 65535

/* Entries a message of len octets can hold at most. */
#define DNS_MSG_MAXRR(len) ((len) > DNS_HEADER_SIZE ? ((len) - DNS_HEADER_SIZE) / 5 : 0)

/* The header, decoded (RFC 1035 section 4.1.1; AD and CD: RFC 4035
 * section 3.2; Z must be zero but is kept as received). */
struct dns_header {
    uint16_t id;
    bool qr, aa, tc, rd, ra, z, ad, cd;
    uint8_t opcode;                  /* 4 bits */
    uint8_t rcode;                   /* the low 4 bits of the RCODE */
    uint16_t count[DNS_SECTIONS];    /* QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT */
};

/* One question or RR, as offsets into the message. A question has ttl,
 * rdata and rdlength 0. */
struct dns_rr {
    uint16_t owner;                  /* offset of the owner name (maybe compressed) */
    uint16_t type;
    uint16_t rclass;
    uint16_t rdlength;
    uint32_t ttl;
    uint16_t rdata;                  /* offset of the RDATA */
    uint8_t section;                 /* enum dns_section */
};

struct dns_msg {
    const uint8_t *pkt;              /* the message, as given to dns_msg_parse */
    size_t len;
    struct dns_header hdr;
    struct dns_rr *rr;               /* the caller's array */
    size_t nrr;                      /* entries used */
    size_t first[DNS_SECTIONS + 1];  /* section s is rr[first[s] .. first[s + 1]) */
    size_t trailing;                 /* octets after the last entry */
};

/* Decode the 12-octet header: 0, or -EBADMSG if len < 12. */
int dns_header_read(const uint8_t *pkt, size_t len, struct dns_header *h);
/* Encode h (counts included) into out. */
void dns_header_write(const struct dns_header *h, uint8_t out[DNS_HEADER_SIZE]);

/* Parse pkt[0..len) into m, using rrs[0..max) for the entries. pkt must
 * stay valid while m is used. Returns 0 or an error from the list above. */
int dns_msg_parse(struct dns_msg *m, const uint8_t *pkt, size_t len,
                  struct dns_rr *rrs, size_t max);

/* The entries of one section, and how many there are. */
static inline const struct dns_rr *dns_msg_section(const struct dns_msg *m,
                                                   enum dns_section s, size_t *n)
{
    *n = m->first[s + 1] - m->first[s];
    return m->rr + m->first[s];
}

/* The owner name of an entry of a parsed message, decompressed. */
int dns_rr_owner(const struct dns_msg *m, const struct dns_rr *rr, struct dns_name *out);

/* Options for dns_rr_rdata(). */
enum {
    /* Lower-case the embedded names of the types that RFC 4034 section 6.2
     * (with RFC 6840 section 5.1) lists: the DNSSEC canonical form. */
    DNS_RDATA_CANONICAL = 1,
};

/*
 * The RDATA of an RR (not a question) with every embedded name
 * decompressed: the form that means the same outside this message (to
 * store, compare, hash, or pass to the writer). Returns its length, -ENOSPC if cap is too small, or
 * OP_E_TOOLONG if decompression makes it longer than 65535 octets (a
 * buffer of DNS_MSG_MAX octets is therefore always enough). Without
 * DNS_RDATA_CANONICAL, for types without DNS_RDN_DECOMPRESS (rdnames.h),
 * it is the RDATA as received: m->pkt + rr->rdata can be used in place.
 */
int dns_rr_rdata(const struct dns_msg *m, const struct dns_rr *rr, uint8_t *out, size_t cap,
                 unsigned options);

#endif
