/*
 * acl.h - who may transfer a zone, and whom a zone's servers talk to: the
 * values of the zone keys allow_transfer, notify and primaries.
 *
 * An access list (allow_transfer) is a comma-separated list of entries
 * "PREFIX [key NAME]": PREFIX is an IPv4 or IPv6 address with an optional
 * "/BITS" (a bare address is the host alone: /32 or /128); "key NAME" makes
 * the entry match only requests signed (TSIG, RFC 8945) with that key.
 * An empty list matches nobody.
 *
 * An address list (notify, primaries) is a comma-separated list of
 * "ADDR[:PORT] [key NAME]": "192.0.2.1", "192.0.2.1:5353", "::1",
 * "[::1]:5353"; the port defaults to the caller's (53). The key, when
 * given, signs what is sent to that address and must sign its answers.
 *
 * Key names are compared without case and without a final dot; they must
 * name a [key NAME] section (the settings check that, not this module).
 * Parsers are pure over a NUL-terminated string and never allocate more
 * than the result; IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4
 * prefixes.
 */
#ifndef OP_DNS_ACL_H
#define OP_DNS_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_ACL_KEYNAME 256          /* longest key name in text, with its NUL */

struct dns_acl_entry {
    int family;                      /* AF_INET or AF_INET6 */
    uint8_t addr[16];                /* network order; 4 octets for IPv4 */
    unsigned bits;                   /* prefix length */
    char key[DNS_ACL_KEYNAME];       /* "" when no key is required */
};

struct dns_acl {
    size_t n;
    struct dns_acl_entry *v;         /* malloc'ed */
};

struct dns_remote {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char key[DNS_ACL_KEYNAME];       /* "" without a key */
};

struct dns_remotes {
    size_t n;
    struct dns_remote *v;            /* malloc'ed */
};

/* Parse an access list. 0, or OP_E_SYNTAX with a sentence in err naming the
 * entry (out is then empty); -ENOMEM. Bits set past the prefix length
 * ("192.0.2.1/24") are an error: they are usually a typo. */
int dns_acl_parse(const char *text, struct dns_acl *out, char *err, size_t errlen);
void dns_acl_free(struct dns_acl *acl);

enum dns_acl_verdict {
    DNS_ACL_REFUSE,                  /* no entry covers the address: REFUSED */
    DNS_ACL_NEEDKEY,                 /* covered, but only with a key the request lacks: NOTAUTH */
    DNS_ACL_ALLOW,
};

/*
 * May peer, whose request was signed with the key named keyname (NULL or
 * "" when unsigned or not verified), go ahead? ALLOW when an entry covers
 * the address and requires no key or that very key; else NEEDKEY when some
 * entry covers the address; else REFUSE.
 */
enum dns_acl_verdict dns_acl_check(const struct dns_acl *acl, const struct sockaddr_storage *peer,
                                   const char *keyname);

/* Parse an address list; port is the default port. 0, OP_E_SYNTAX (err),
 * -ENOMEM. */
int dns_remotes_parse(const char *text, uint16_t port, struct dns_remotes *out, char *err,
                      size_t errlen);
void dns_remotes_free(struct dns_remotes *r);

/* Whether two key names are the same (case-insensitive, final dot ignored). */
bool dns_acl_key_equal(const char *a, const char *b);

/* Every key name a list refers to, one by one: the i-th entry's key, or
 * NULL when it has none (for checking them against the [key] sections). */
static inline const char *dns_acl_key_at(const struct dns_acl *acl, size_t i)
{
    return acl->v[i].key[0] ? acl->v[i].key : NULL;
}

#endif
