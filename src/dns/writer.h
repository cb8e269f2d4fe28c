/*
 * writer.h - building DNS messages into a caller's buffer, with name
 * compression.
 *
 * The writer fills buf[0 .. limit): the caller picks limit, e.g. the
 * client's UDP payload size (512 without EDNS, RFC 1035 section 4.2.1; the
 * OPT RR's value with it, RFC 6891 section 6.2.5), or 65535 for TCP. The
 * header is written first and its counts are kept current, so buf[0 ..
 * dns_writer_len()) is a complete message after every successful call.
 *
 * Entries go in message order: questions first, then answer, authority
 * and additional RRs; going back to an earlier section is -EINVAL.
 *
 * Whole RRs or nothing: a question or RR that does not fit leaves the
 * message exactly as it was and returns -EMSGSIZE, so the caller can stop
 * there and set TC if what was left out was needed (RFC 2181 section 9:
 * not merely for additional data). Room can be held back for an RR that
 * must come last (the OPT RR, RFC 6891 section 7; TSIG) with
 * dns_writer_reserve() and handed back just before writing it.
 *
 * Compression (RFC 1035 section 4.1.4): owner names and the names inside
 * the RDATA of NS, CNAME, SOA, PTR and MX are written as the longest
 * earlier name suffix they share, with a pointer; names in any other RDATA
 * are written in full and never pointed into (RFC 3597 section 4). Suffixes
 * match only when equal octet for octet, case included: a name is read
 * back with exactly the case it was written with (resolvers using the
 * 0x20 trick, draft-vixie-dnsext-dns0x20, rely on that for the question).
 * Only names at offsets below 16384 can be pointed to (14-bit pointers),
 * and at most DNS_WRITER_TARGETS suffixes are remembered; past that, names
 * are still written correctly, only less compressed.
 *
 * No allocation: struct dns_writer is about 1 KiB and lives where the
 * caller likes (on the stack, in a per-thread context).
 */
#ifndef OP_DNS_WRITER_H
#define OP_DNS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"
#include "dns/wire.h"

#define DNS_WRITER_TARGETS 256

struct dns_writer {
    uint8_t *buf;
    size_t limit;                 /* octets the message may take */
    size_t reserved;              /* of those, held back */
    size_t len;                   /* octets written */
    int section;                  /* the section being written */
    uint16_t count[DNS_SECTIONS];
    size_t ntargets;
    struct {
        uint16_t off;             /* where a name suffix starts in buf */
        uint8_t labels;           /* how many labels it has, root excluded */
    } targets[DNS_WRITER_TARGETS];
};

/* Start a message in buf[0 .. limit) with the ID and flags of h (its
 * counts are ignored). limit must be 12..65535: else -EINVAL. */
int dns_writer_init(struct dns_writer *w, uint8_t *buf, size_t limit,
                    const struct dns_header *h);

/* Replace the ID and flags (TC, RCODE, ...); the counts stay. */
void dns_writer_set_header(struct dns_writer *w, const struct dns_header *h);

/* Add a question (RFC 1035 section 4.1.2). 0, -EMSGSIZE or -EINVAL. */
int dns_writer_question(struct dns_writer *w, const struct dns_name *qname,
                        uint16_t qtype, uint16_t qclass);

/*
 * Add an RR to section s (ANSWER, AUTHORITY or ADDITIONAL) with its RDATA
 * in uncompressed form (as dns_rr_rdata() gives it). RDATA of a type that
 * embeds names must follow its layout (rdnames.h): else OP_E_SYNTAX or
 * -EBADMSG. Returns 0, -EMSGSIZE (does not fit, nothing written), -EINVAL.
 */
int dns_writer_rr(struct dns_writer *w, enum dns_section s, const struct dns_name *owner,
                  uint16_t type, uint16_t rclass, uint32_t ttl,
                  const uint8_t *rdata, size_t rdlen);

/*
 * Add an RR whose RDATA of rdlen octets the caller writes itself, at
 * *rdata, right after this call (for pseudo-RRs such as OPT, built in
 * place). Nothing in it is compressed. Same results as dns_writer_rr().
 */
int dns_writer_rr_raw(struct dns_writer *w, enum dns_section s, const struct dns_name *owner,
                      uint16_t type, uint16_t rclass, uint32_t ttl, size_t rdlen,
                      uint8_t **rdata);

/* Hold back n octets from the limit: 0 or -EMSGSIZE. Release gives them back. */
int dns_writer_reserve(struct dns_writer *w, size_t n);
void dns_writer_release(struct dns_writer *w, size_t n);

/* Octets written so far: the message is buf[0 .. len). */
static inline size_t dns_writer_len(const struct dns_writer *w)
{
    return w->len;
}

#endif
