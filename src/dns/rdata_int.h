/*
 * rdata_int.h - pieces shared by the files of the RDATA module (rdata.c,
 * rdata_enc.c, rdata_svcb.c); not part of its contract.
 *
 * Text side: every function reads one token's text (escapes unprocessed)
 * and writes into an output cursor that refuses to go past its capacity.
 * Errors are written to the caller's err as a sentence naming the field,
 * and returned as OP_E_SYNTAX (or -ENOSPC for a full output).
 */
#ifndef OP_DNS_RDATA_INT_H
#define OP_DNS_RDATA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "dns/rdata.h"

/* Where wire RDATA is being written. */
struct rd_out {
    uint8_t *p;
    size_t len, cap;
    char *err;
    size_t errlen;
};

/* Format a sentence into o->err; returns OP_E_SYNTAX. */
int rd_fail(struct rd_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s[0..len) for a message: cut at 40 characters ("..." after), octets
 * outside 0x20-0x7e as '?'. Returns buf. */
const char *rd_shown(const char *s, size_t len, char buf[48]);

/* Append n octets; -ENOSPC when they do not fit. */
int rd_put(struct rd_out *o, const void *p, size_t n);
int rd_put8(struct rd_out *o, unsigned v);
int rd_put16(struct rd_out *o, unsigned v);
int rd_put32(struct rd_out *o, uint32_t v);

/* A decimal number of at most max into *v; false if not one. */
bool rd_uint(const char *s, size_t len, uint32_t max, uint32_t *v);

/* Decode \X and \DDD escapes of s[0..len) into out[0..cap): returns the
 * decoded length, or OP_E_SYNTAX (bad escape, sentence in o->err naming
 * what), or -ENOSPC. */
int rd_unescape(struct rd_out *o, const char *what, const char *s, size_t len, uint8_t *out,
                size_t cap);

/* Print octets as the inside of a quoted character-string, as dig does:
 * '"' and '\' escaped with '\', octets outside 0x20-0x7e as \DDD. */
int rd_print_escaped(struct buf *b, const uint8_t *p, size_t n);

/* Hex digits into octets (ignores nothing: every character must be a hex
 * digit); decoding continues across calls via *half (-1 when none). */
int rd_hex_decode(struct rd_out *o, const char *what, const char *s, size_t len, int *half);
int rd_hex_print(struct buf *b, const uint8_t *p, size_t n);      /* uppercase */

/* Base64 (RFC 4648 section 4) across several tokens: call rd_b64_decode
 * per token, then rd_b64_end once; the padding must be right. */
struct rd_b64 {
    uint32_t acc;
    unsigned bits, chars, pad;
};
int rd_b64_decode(struct rd_out *o, const char *what, struct rd_b64 *st, const char *s, size_t len);
int rd_b64_end(struct rd_out *o, const char *what, const struct rd_b64 *st);
int rd_b64_print(struct buf *b, const uint8_t *p, size_t n);

/* Base32 with the "extended hex" alphabet (RFC 4648 section 7), without
 * padding, as NSEC3 uses it (RFC 5155 section 3.3): text of s into out;
 * returns the octet count or an error. */
int rd_b32hex_decode(struct rd_out *o, const char *what, const char *s, size_t len, uint8_t *out,
                     size_t cap);
int rd_b32hex_print(struct buf *b, const uint8_t *p, size_t n);   /* uppercase */

/* RRSIG times (RFC 4034 section 3.2): YYYYMMDDHHmmSS (UTC) or a plain
 * number of seconds since 1970. */
bool rd_time_from_text(const char *s, size_t len, uint32_t *v);
int rd_time_print(struct buf *b, uint32_t v);

/* SVCB/HTTPS SvcParams (RFC 9460 section 2.1): the tokens after the target
 * name into wire form, sorted by key. */
int rd_svcb_from_text(struct rd_out *o, const struct dns_token *tok, size_t ntok);
/* Check wire SvcParams p[0..len); with b non-NULL also print them, each
 * preceded by a space. Returns 0, -1 if malformed, or -ENOMEM. */
int rd_svcb_walk(const uint8_t *p, size_t len, struct buf *b);

/* LOC (RFC 1876): all the tokens of the record into its 16 octets; and
 * the same check-and-print walk as rd_svcb_walk (without a leading space). */
int rd_loc_from_text(struct rd_out *o, const struct dns_token *tok, size_t ntok);
int rd_loc_walk(const uint8_t *p, size_t len, struct buf *b);

#endif
