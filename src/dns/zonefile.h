/*
 * zonefile.h - reading RFC 1035 master files (section 5), as BIND writes them.
 *
 * The reader handles $ORIGIN, $TTL (RFC 2308 section 4), $INCLUDE (with an
 * optional origin; relative paths from the including file's directory,
 * nesting bounded), @, relative and absolute owner names, an omitted owner
 * (the previous record's), omitted TTL and class in either order, TTLs with
 * units (1h30m, 2w), parentheses across lines, ; comments, quoted strings
 * with \X and \DDD escapes, and type names in the TYPE1234 and class names in
 * the CLASS1 form. Without $TTL, a record without a TTL takes the last one
 * given (BIND's behaviour, with a warning as BIND gives), and a first SOA
 * without one its own minimum field. A TTL over 2^31-1 is taken as 0 with
 * a warning (RFC 2181 section 8). After an $INCLUDE the including file
 * goes on with the origin and the previous owner it had before it; $TTL
 * carries through. $INCLUDE nests at most 8 deep.
 *
 * The zone's class is IN: a record of any other class is an error. CR
 * before LF is ignored, a missing final newline is fine, a NUL byte is an
 * error. $GENERATE and other directives are refused.
 *
 * Each record goes to the caller's callback with its source location; the
 * reader keeps nothing. Errors name file:line and stop the reading.
 */
#ifndef OP_DNS_ZONEFILE_H
#define OP_DNS_ZONEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "dns/name.h"
#include "dns/rdata.h"

/* Where a record was read. file stays valid until dns_zonefile_read returns. */
struct dns_src {
    const char *file;
    unsigned line;
};

/* Called for each record, RDATA in uncompressed wire form. Returning a
 * negative value stops the reading (dns_zonefile_read returns it); the
 * callback is expected to have said why in errors. */
typedef int (*dns_zonefile_cb)(void *arg, const struct dns_src *src, const struct dns_name *owner,
                               uint16_t type, uint16_t rclass, uint32_t ttl,
                               const uint8_t *rdata, uint16_t rdlen);

/*
 * Read the master file path with the initial origin (the zone's name).
 * Returns 0, or a negative error after appending one line per problem,
 * each "file:line: sentence\n", to errors (warnings are appended too, with
 * "warning: " after the location, and do not make it fail).
 */
int dns_zonefile_read(const char *path, const struct dns_name *origin, dns_zonefile_cb cb,
                      void *arg, struct buf *errors);

/* The same, from text in memory; name is used in messages (and $INCLUDE
 * is refused: there is no directory to resolve it in). */
int dns_zonefile_parse(const char *text, size_t len, const char *name,
                       const struct dns_name *origin, dns_zonefile_cb cb, void *arg,
                       struct buf *errors);

/*
 * Cut one line of RDATA text into tokens as the reader does (quotes
 * removed, escapes kept; no comments or parentheses expected but allowed),
 * into tok[0..max). The tokens point into text. Returns the number of
 * tokens, OP_E_SYNTAX (unclosed quote, NUL byte, more than one record) or
 * -ENOSPC. For tests and the fuzzer, which print RDATA and read it back.
 */
int dns_zonefile_tokenize(const char *text, size_t len, struct dns_token *tok, size_t max);

#endif
