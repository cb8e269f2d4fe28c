/*
 * consts.c - mnemonics of DNS types, classes, RCODEs and opcodes.
 * See consts.h.
 */
#include "dns/consts.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"

struct mnemonic {
    uint16_t value;
    const char *name;
};

/* Every type with a mnemonic in IANA's registry that a current BIND or Knot
 * also prints by name, in numeric order. */
static const struct mnemonic types[] = {
    {1, "A"}, {2, "NS"}, {3, "MD"}, {4, "MF"}, {5, "CNAME"}, {6, "SOA"},
    {7, "MB"}, {8, "MG"}, {9, "MR"}, {10, "NULL"}, {11, "WKS"}, {12, "PTR"},
    {13, "HINFO"}, {14, "MINFO"}, {15, "MX"}, {16, "TXT"}, {17, "RP"},
    {18, "AFSDB"}, {19, "X25"}, {20, "ISDN"}, {21, "RT"}, {22, "NSAP"},
    {23, "NSAP-PTR"}, {24, "SIG"}, {25, "KEY"}, {26, "PX"}, {27, "GPOS"},
    {28, "AAAA"}, {29, "LOC"}, {30, "NXT"}, {31, "EID"}, {32, "NIMLOC"},
    {33, "SRV"}, {34, "ATMA"}, {35, "NAPTR"}, {36, "KX"}, {37, "CERT"},
    {38, "A6"}, {39, "DNAME"}, {40, "SINK"}, {41, "OPT"}, {42, "APL"},
    {43, "DS"}, {44, "SSHFP"}, {45, "IPSECKEY"}, {46, "RRSIG"}, {47, "NSEC"},
    {48, "DNSKEY"}, {49, "DHCID"}, {50, "NSEC3"}, {51, "NSEC3PARAM"},
    {52, "TLSA"}, {53, "SMIMEA"}, {55, "HIP"}, {56, "NINFO"}, {57, "RKEY"},
    {58, "TALINK"}, {59, "CDS"}, {60, "CDNSKEY"}, {61, "OPENPGPKEY"},
    {62, "CSYNC"}, {63, "ZONEMD"}, {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},
    {100, "UINFO"}, {101, "UID"}, {102, "GID"}, {103, "UNSPEC"}, {104, "NID"},
    {105, "L32"}, {106, "L64"}, {107, "LP"}, {108, "EUI48"}, {109, "EUI64"},
    {249, "TKEY"}, {250, "TSIG"}, {251, "IXFR"}, {252, "AXFR"}, {253, "MAILB"},
    {254, "MAILA"}, {255, "ANY"}, {256, "URI"}, {257, "CAA"}, {258, "AVC"},
    {259, "DOA"}, {260, "AMTRELAY"}, {261, "RESINFO"},
    {32768, "TA"}, {32769, "DLV"},
};

/* CH is "CHAOS" in RFC 1035 but "CH" in master files and dig output. */
static const struct mnemonic classes[] = {
    {1, "IN"}, {3, "CH"}, {4, "HS"}, {254, "NONE"}, {255, "ANY"},
};

static const struct mnemonic rcodes[] = {
    {0, "NOERROR"}, {1, "FORMERR"}, {2, "SERVFAIL"}, {3, "NXDOMAIN"},
    {4, "NOTIMP"}, {5, "REFUSED"}, {6, "YXDOMAIN"}, {7, "YXRRSET"},
    {8, "NXRRSET"}, {9, "NOTAUTH"}, {10, "NOTZONE"}, {11, "DSOTYPENI"},
    {16, "BADVERS"}, {17, "BADKEY"}, {18, "BADTIME"}, {19, "BADMODE"},
    {20, "BADNAME"}, {21, "BADALG"}, {22, "BADTRUNC"}, {23, "BADCOOKIE"},
};

static const struct mnemonic opcodes[] = {
    {0, "QUERY"}, {1, "IQUERY"}, {2, "STATUS"}, {4, "NOTIFY"}, {5, "UPDATE"},
    {6, "DSO"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Binary search: every table above is sorted by value. */
static const char *lookup(const struct mnemonic *t, size_t n, uint16_t value)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].value == value)
            return t[mid].name;
        if (t[mid].value < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* "PREFIX<decimal>" (RFC 3597 section 5): the prefix is matched
 * case-insensitively, then 1-5 digits with a value up to 65535. */
static int generic_from_text(const char *prefix, const char *s, size_t len, uint16_t *out)
{
    size_t plen = strlen(prefix);
    if (len <= plen || len > plen + 5 || strncasecmp(s, prefix, plen) != 0)
        return OP_E_SYNTAX;
    uint32_t v = 0;
    for (size_t i = plen; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return OP_E_SYNTAX;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 65535)
        return OP_E_SYNTAX;
    *out = (uint16_t)v;
    return 0;
}

static int from_text(const struct mnemonic *t, size_t n, const char *prefix,
                     const char *s, size_t len, uint16_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(t[i].name) == len && strncasecmp(t[i].name, s, len) == 0) {
            *out = t[i].value;
            return 0;
        }
    }
    return generic_from_text(prefix, s, len, out);
}

static const char *to_text(const struct mnemonic *t, size_t n, const char *prefix,
                           uint16_t value, char buf[DNS_MNEMONIC_MAX])
{
    const char *name = lookup(t, n, value);
    if (name)
        return name;
    snprintf(buf, DNS_MNEMONIC_MAX, "%s%u", prefix, (unsigned)value);
    return buf;
}

const char *dns_type_name(uint16_t type)
{
    return lookup(types, COUNT(types), type);
}

const char *dns_type_to_text(uint16_t type, char buf[DNS_MNEMONIC_MAX])
{
    return to_text(types, COUNT(types), "TYPE", type, buf);
}

int dns_type_from_text(const char *s, size_t len, uint16_t *type)
{
    return from_text(types, COUNT(types), "TYPE", s, len, type);
}

const char *dns_class_name(uint16_t rclass)
{
    return lookup(classes, COUNT(classes), rclass);
}

const char *dns_class_to_text(uint16_t rclass, char buf[DNS_MNEMONIC_MAX])
{
    return to_text(classes, COUNT(classes), "CLASS", rclass, buf);
}

int dns_class_from_text(const char *s, size_t len, uint16_t *rclass)
{
    return from_text(classes, COUNT(classes), "CLASS", s, len, rclass);
}

const char *dns_rcode_to_text(uint16_t rcode, char buf[DNS_MNEMONIC_MAX])
{
    return to_text(rcodes, COUNT(rcodes), "RCODE", rcode, buf);
}

const char *dns_opcode_to_text(uint8_t opcode, char buf[DNS_MNEMONIC_MAX])
{
    return to_text(opcodes, COUNT(opcodes), "OPCODE", opcode, buf);
}

bool dns_type_is_meta(uint16_t type)
{
    /* RFC 6895 section 3.1: 128-255 are Q-types and meta-types; OPT (41)
     * is a meta-type outside that range (RFC 6891 section 6.1.1). */
    return type == DNS_TYPE_OPT || (type >= 128 && type <= 255);
}
