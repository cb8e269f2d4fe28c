/*
 * name.h - domain names.
 *
 * A struct dns_name holds a name in uncompressed wire form: a sequence of
 * labels, each a length octet (1..63) followed by that many octets, ended by
 * the zero-length root label (RFC 1035 section 3.1). The whole is at most
 * 255 octets, root label included (RFC 1035 section 2.3.4), so a name has
 * at most 127 labels besides the root. The root name is the single octet 0.
 *
 * Every function here that fills a struct dns_name leaves it valid by those
 * rules or reports an error (and then leaves its contents unspecified);
 * every function that reads one assumes it is valid. Callers read len and
 * wire; only this module writes them.
 *
 * Case: labels keep the case they arrived with. Comparisons follow RFC 4343
 * section 3: only the ASCII letters A-Z and a-z are equal ignoring case;
 * every other octet compares as itself.
 *
 * Errors: OP_E_SYNTAX (not a name by the grammar, or a malformed label
 * type or compression pointer), OP_E_TOOLONG (a label over 63 or a name
 * over 255 octets), -EBADMSG (the input ends inside the name), -ENOSPC
 * (the caller's output buffer is too small).
 *
 * All functions are pure and allocate nothing.
 */
#ifndef OP_DNS_NAME_H
#define OP_DNS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAXWIRE 255     /* octets, root label included */
#define DNS_LABEL_MAX 63         /* octets in one label */
#define DNS_NAME_MAXLABELS 127   /* labels besides the root */

/* Room for the presentation form of any name, NUL included: at most 254
 * label octets, each escaped as \DDD (4 characters), plus dots. */
#define DNS_NAME_MAXTEXT 1024

/* How many compression pointers one name may follow. A name built by an
 * honest compressor follows at most one per run of labels, and a name has
 * at most 127 labels; more means a chain built to waste our time. */
#define DNS_NAME_MAXPTRS 127

struct dns_name {
    uint8_t len;                     /* octets used in wire, 1..255 */
    uint8_t wire[DNS_NAME_MAXWIRE];
};

/* ---- presentation form (RFC 1035 section 5.1) ---------------------------- */

/*
 * Text into a name. Labels are separated by '.'; "\X" stands for the
 * character X (so "\." is a dot inside a label) and "\DDD" for the octet
 * with decimal value DDD (exactly three digits, at most 255). A name ending
 * in an unescaped '.' is absolute; any other is relative and origin is
 * appended (the root when origin is NULL). "." alone is the root. Empty
 * labels ("a..b", ".a") and an empty string are OP_E_SYNTAX. "@" has no
 * special meaning here: the zone-file parser deals with it.
 */
int dns_name_from_text(struct dns_name *out, const char *text, size_t len,
                       const struct dns_name *origin);

/*
 * Name into absolute text with a trailing dot, NUL-terminated, as dig and
 * BIND print it: '.', '\\', '"', ';', '(', ')', '@' and '$' inside a label
 * are written as "\X", octets outside 0x21-0x7e as "\DDD". The root is ".".
 * Returns the text length (without the NUL), or -ENOSPC if cap is too
 * small (DNS_NAME_MAXTEXT is always enough).
 */
int dns_name_to_text(const struct dns_name *n, char *out, size_t cap);

/* ---- wire form ---------------------------------------------------------- */

/*
 * Read a possibly compressed name at msg[off] in a DNS message msg[0..len)
 * (RFC 1035 section 4.1.4). Returns the number of octets the name occupies
 * at off (up to and including its first pointer, or its root label), or a
 * negative error. Rules, each refused with OP_E_SYNTAX:
 *   - label types 0x40 and 0x80 are reserved (RFC 6891 section 5 retired
 *     the extended label type 0x40, RFC 1035 section 4.1.4 reserves 0x80);
 *   - a pointer must point below the start of the run of labels it ends
 *     (the name's own start, or the previous pointer's target), so every
 *     jump goes strictly backwards and loops cannot exist; pointing at or
 *     beyond the current name, or into itself, is refused;
 *   - a pointer may not point into the 12-octet header;
 *   - at most DNS_NAME_MAXPTRS pointers per name.
 * A label running past len is -EBADMSG; more than 255 octets, OP_E_TOOLONG.
 * With out NULL the name is only checked and measured (nothing is copied).
 */
int dns_name_read(const uint8_t *msg, size_t len, size_t off, struct dns_name *out);

/* Read an uncompressed name at the start of p[0..len) (no pointers
 * allowed: OP_E_SYNTAX). Returns the octets consumed, or a negative error.
 * With out NULL the name is only checked and measured. */
int dns_name_from_wire(struct dns_name *out, const uint8_t *p, size_t len);

/* ---- comparing ------------------------------------------------------------ */

/* Equal ignoring ASCII case (RFC 4343 section 3). */
bool dns_name_equal(const struct dns_name *a, const struct dns_name *b);

/*
 * Canonical DNS name order (RFC 4034 section 6.1): compare label by label
 * from the root end; labels compare as octet strings with A-Z taken as
 * a-z, a shorter label before a longer one it is a prefix of; a name
 * before its subdomains. Returns <0, 0 or >0 like strcmp.
 */
int dns_name_compare(const struct dns_name *a, const struct dns_name *b);

/* True if n is parent or below it ("www.example.com." is a subdomain of
 * "example.com." and of itself; every name is a subdomain of "."). */
bool dns_name_is_subdomain(const struct dns_name *n, const struct dns_name *parent);

/* ---- small helpers ------------------------------------------------------------- */

/* Labels besides the root: "www.example.com." has 3, "." has 0. */
int dns_name_labels(const struct dns_name *n);

/* Turn A-Z into a-z in place (RFC 4034 section 6.2's canonical form). */
void dns_name_lower(struct dns_name *n);

/* Make n the root name ".". */
void dns_name_set_root(struct dns_name *n);

#endif
