/*
 * rdata.h - RDATA in presentation (text) form and wire form.
 *
 * The presentation forms are those of the RFCs that define each type, as
 * BIND, NSD and Knot print and read them: A, AAAA (RFC 1035, 3596), NS,
 * CNAME, PTR, SOA, MX, TXT, HINFO (RFC 1035), SRV (RFC 2782), NAPTR (RFC
 * 3403), CAA (RFC 8659), SSHFP (RFC 4255), TLSA (RFC 6698), DS, DNSKEY,
 * RRSIG, NSEC (RFC 4034), NSEC3, NSEC3PARAM (RFC 5155), SVCB and HTTPS
 * (RFC 9460), DNAME (RFC 6672), and any type at all in the generic form of
 * RFC 3597 section 5 (`\# 4 0a000001`), which is accepted for known types
 * too (then checked against the type's layout).
 *
 * Also read and printed: LOC (RFC 1876), MD, MF, MB, MG, MR, MINFO, RP, AFSDB, RT, KX
 * (RFC 1035, 1183, 2230), DHCID (RFC 4701), OPENPGPKEY (RFC 7929), CSYNC
 * (RFC 7477), ZONEMD (RFC 8976), URI (RFC 7553), SPF (RFC 7208), SMIMEA
 * (RFC 8162), CDS and CDNSKEY (RFC 7344).
 *
 * Text comes in as the tokens the master-file lexer (zonefile.h) made of
 * the RDATA part of one record: quotes already removed (with .quoted set),
 * parentheses and comments gone, but backslash escapes (\X, \DDD) still in
 * the text, since what they mean depends on the field (a name, a
 * character-string, ...). Relative names are completed with origin (the
 * root when NULL), and an unquoted "@" is the origin itself. Hex and base64
 * fields may be split over several tokens. An SVCB/HTTPS parameter is one
 * token, key=value, whose value may keep its quotes (key="a b").
 *
 * Text goes out as dig prints it: numbers in decimal, names absolute,
 * character-strings quoted with '"' and '\' escaped and other octets
 * outside 0x20-0x7e as \DDD, hex in upper case, AAAA in the RFC 5952 form,
 * RRSIG times as YYYYMMDDHHmmSS, NSEC bitmaps as type mnemonics (TYPEnnn
 * for the others). One difference: hex and base64 come in one piece,
 * where dig cuts them with spaces every 56 characters.
 *
 * Printed text always reads back to the same octets: a type's own form is
 * printed only for RDATA its parser could have produced (e.g. a type
 * bitmap without empty trailing octets, SvcParam keys in increasing
 * order); other RDATA is printed in the generic form.
 *
 * Wire RDATA is always uncompressed (as dns_rr_rdata() gives it).
 */
#ifndef OP_DNS_RDATA_H
#define OP_DNS_RDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "dns/name.h"

/* One token of a record's text. */
struct dns_token {
    const char *text;                /* not NUL-terminated; escapes unprocessed */
    size_t len;
    bool quoted;                     /* it was "..." in the file */
};

/* The largest RDATA (RDLENGTH is 16 bits). */
#define DNS_RDATA_MAX 65535

/*
 * Convert the tokens tok[0..ntok) into the wire RDATA of type, into
 * out[0..cap). Returns the RDATA's length, or a negative error with a
 * sentence in err (e.g. "MX: preference 70000 is over 65535"):
 * OP_E_SYNTAX for bad text, -ENOSPC when cap is too small.
 */
int dns_rdata_from_text(uint16_t type, const struct dns_token *tok, size_t ntok,
                        const struct dns_name *origin, uint8_t *out, size_t cap,
                        char *err, size_t errlen);

/*
 * Append the presentation form of the RDATA rd[0..len) of type to out, as
 * one line without the owner, TTL, class or type (e.g. "10 mail.example.").
 * Names are printed absolute. Types it does not know, and RDATA that does
 * not match its type's layout, are printed in the generic form. Returns 0
 * or -ENOMEM.
 */
int dns_rdata_to_text(uint16_t type, const uint8_t *rd, size_t len, struct buf *out);

/*
 * A TTL or other period in seconds: a plain number, or numbers with units
 * w, d, h, m, s in any case ("1h30m", "2W"), as BIND reads them in $TTL,
 * record TTLs and the SOA timers. 0 or OP_E_SYNTAX (also for a total over
 * 2^32-1).
 */
int dns_ttl_from_text(const char *s, size_t len, uint32_t *out);

#endif
