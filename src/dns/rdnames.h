/*
 * rdnames.h - where domain names sit inside RDATA, and what may be done
 * to them.
 *
 * Most RR types carry opaque RDATA that this layer never looks into. A few
 * embed domain names, and those names need care in three places:
 *   - on input, RFC 3597 section 4: receivers MUST decompress names in the
 *     RDATA of the RFC 1035 types (NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR,
 *     MINFO, MX) and SHOULD decompress RP, AFSDB, RT, SIG, PX, NXT, NAPTR
 *     and SRV; any other type's names must arrive uncompressed;
 *   - on output, RFC 3597 section 4: only the types of RFC 1035 may be
 *     compressed; outpost compresses NS, CNAME, SOA, PTR and MX, the ones
 *     still in use;
 *   - in DNSSEC canonical form, RFC 4034 section 6.2 item 3 as corrected
 *     by RFC 6840 section 5.1: names are lower-cased in NS, MD, MF, CNAME,
 *     SOA, MB, MG, MR, PTR, MINFO, MX, RP, AFSDB, RT, SIG, PX, NXT, NAPTR,
 *     KX, SRV, DNAME, A6 and RRSIG (not NSEC; HINFO has no names).
 * A6 (historic, RFC 6563) is treated as opaque.
 *
 * The iterator walks one RDATA by its type's layout and hands out its
 * pieces: each embedded name (decompressed), and the octets between names
 * (fixed fields, character-strings, the opaque rest) in runs. It checks the
 * layout as it goes: fields must fit, names must be valid, and the pieces
 * must cover the RDATA exactly.
 *
 * Empty RDATA: RFC 2136 sections 2.4 and 2.5 use RDLENGTH 0 with class ANY
 * or NONE to mean "the whole RRset"; such RDATA is accepted for any type.
 */
#ifndef OP_DNS_RDNAMES_H
#define OP_DNS_RDNAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"

enum {
    DNS_RDN_NAMES = 1,        /* the RDATA embeds names: the iterator parses it */
    DNS_RDN_DECOMPRESS = 2,   /* its names may arrive compressed */
    DNS_RDN_COMPRESS = 4,     /* outpost compresses its names on output */
    DNS_RDN_LOWER = 8,        /* its names are lower-cased in canonical form */
};

/* The DNS_RDN_* flags of a type; 0 for opaque RDATA. */
unsigned dns_rdnames_flags(uint16_t type);

/* What dns_rdata_next() found. */
enum {
    DNS_PIECE_END = 0,        /* the RDATA is done, and was covered exactly */
    DNS_PIECE_NAME = 1,       /* a domain name */
    DNS_PIECE_OCTETS = 2,     /* a run of octets that are not names */
};

struct dns_rdata_iter {
    const uint8_t *buf;       /* a message, or a buffer holding flat RDATA */
    size_t pos;               /* next octet to read */
    size_t end;               /* one past the RDATA */
    const char *fields;       /* layout still to read: see rdnames.c */
    bool ptrs;                /* names may be compressed (and point into buf) */
};

/*
 * Walk the RDATA of an RR of (type, rclass) at buf[off .. off + rdlen).
 * in_message: buf is the whole DNS message, so a name may be a compression
 * pointer if the type allows it; otherwise buf holds flat RDATA and every
 * name must be uncompressed. A type without names yields one OCTETS piece
 * (none if empty).
 */
void dns_rdata_iter_init(struct dns_rdata_iter *it, uint16_t type, uint16_t rclass,
                         const uint8_t *buf, size_t off, size_t rdlen, bool in_message);

/*
 * The next piece: DNS_PIECE_NAME (the name in *name, or only checked when
 * name is NULL), DNS_PIECE_OCTETS (buf[*off .. *off + *len)), DNS_PIECE_END,
 * or a negative error: -EBADMSG when a field runs past the RDATA,
 * OP_E_SYNTAX for octets left over or a bad name, OP_E_TOOLONG for a name
 * over 255 octets. For a NAME, *off and *len give the octets it occupies
 * in buf (compressed form).
 */
int dns_rdata_next(struct dns_rdata_iter *it, struct dns_name *name, size_t *off, size_t *len);

/* Walk a whole RDATA to check it: 0 or the first error. */
int dns_rdata_check(uint16_t type, uint16_t rclass, const uint8_t *buf, size_t off,
                    size_t rdlen, bool in_message);

#endif
