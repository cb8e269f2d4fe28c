/*
 * lname.h - names prepared for hash lookups in zones and zone sets.
 *
 * A lookup walks a name and its ancestors ("www.example.com.",
 * "example.com.", "com.", "."), looking each one up in a hash table. So a
 * name is prepared once: lower-cased (RFC 4343 section 3: lookups ignore
 * ASCII case), its labels located, and the hash of every suffix computed
 * in one pass from the root end, each suffix's hash extending its parent's.
 * Then each ancestor costs one table probe and no hashing.
 *
 * The hash covers the lower-cased wire octets of a suffix, label length
 * octets included, so two names hash alike only by chance. It is not keyed:
 * zone data comes from the operator, and queries only ever probe, so a
 * client cannot make a table degrade.
 *
 * Pure; no allocation. A struct dns_lname is about 900 octets: it lives on
 * the stack of the query being answered.
 */
#ifndef OP_DNS_LNAME_H
#define OP_DNS_LNAME_H

#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"

struct dns_lname {
    struct dns_name lower;                     /* the name, lower-cased */
    uint8_t labels;                            /* labels besides the root */
    /* Suffix i (0 <= i <= labels) drops the first i labels: it starts at
     * lower.wire + off[i], is len(i) octets long and hashes to hash[i].
     * Suffix 0 is the whole name, suffix labels is the root. */
    uint8_t off[DNS_NAME_MAXLABELS + 1];
    uint32_t hash[DNS_NAME_MAXLABELS + 1];
};

/* Prepare n for lookups. */
void dns_lname_init(struct dns_lname *ln, const struct dns_name *n);

/* Octets of suffix i. */
static inline size_t dns_lname_len(const struct dns_lname *ln, int i)
{
    return (size_t)ln->lower.len - ln->off[i];
}

/* The hash dns_lname_init gives a name, for a lower-cased wire name alone
 * (the tables' side: 'wire' must be valid and lower-cased). */
uint32_t dns_lname_hash(const uint8_t *wire, size_t len);

#endif
