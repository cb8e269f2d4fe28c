/*
 * consts.h - the numbers of DNS: RR types, classes, opcodes, RCODEs, header
 * flags, and their mnemonics.
 *
 * The values are IANA's "Domain Name System (DNS) Parameters" registry
 * (RFC 6895). Mnemonic <-> number conversion follows RFC 3597 section 5:
 * a type or class without a mnemonic is written "TYPE1234" / "CLASS5", and
 * those generic forms are accepted on input for every number, mnemonic or
 * not ("TYPE1" is A). Mnemonics are matched case-insensitively.
 *
 * All functions are pure and allocate nothing.
 */
#ifndef OP_DNS_CONSTS_H
#define OP_DNS_CONSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fixed header that starts every message (RFC 1035 section 4.1.1). */
#define DNS_HEADER_SIZE 12

/* RR types (RFC 1035 section 3.2.2 and later RFCs, as registered). */
enum {
    DNS_TYPE_A = 1, DNS_TYPE_NS = 2, DNS_TYPE_MD = 3, DNS_TYPE_MF = 4,
    DNS_TYPE_CNAME = 5, DNS_TYPE_SOA = 6, DNS_TYPE_MB = 7, DNS_TYPE_MG = 8,
    DNS_TYPE_MR = 9, DNS_TYPE_NULL = 10, DNS_TYPE_WKS = 11, DNS_TYPE_PTR = 12,
    DNS_TYPE_HINFO = 13, DNS_TYPE_MINFO = 14, DNS_TYPE_MX = 15, DNS_TYPE_TXT = 16,
    DNS_TYPE_RP = 17, DNS_TYPE_AFSDB = 18, DNS_TYPE_RT = 21, DNS_TYPE_SIG = 24,
    DNS_TYPE_KEY = 25, DNS_TYPE_PX = 26, DNS_TYPE_AAAA = 28, DNS_TYPE_LOC = 29,
    DNS_TYPE_NXT = 30, DNS_TYPE_SRV = 33, DNS_TYPE_NAPTR = 35, DNS_TYPE_KX = 36,
    DNS_TYPE_CERT = 37, DNS_TYPE_A6 = 38, DNS_TYPE_DNAME = 39, DNS_TYPE_OPT = 41,
    DNS_TYPE_APL = 42, DNS_TYPE_DS = 43, DNS_TYPE_SSHFP = 44, DNS_TYPE_IPSECKEY = 45,
    DNS_TYPE_RRSIG = 46, DNS_TYPE_NSEC = 47, DNS_TYPE_DNSKEY = 48, DNS_TYPE_DHCID = 49,
    DNS_TYPE_NSEC3 = 50, DNS_TYPE_NSEC3PARAM = 51, DNS_TYPE_TLSA = 52,
    DNS_TYPE_SMIMEA = 53, DNS_TYPE_HIP = 55, DNS_TYPE_CDS = 59, DNS_TYPE_CDNSKEY = 60,
    DNS_TYPE_OPENPGPKEY = 61, DNS_TYPE_CSYNC = 62, DNS_TYPE_ZONEMD = 63,
    DNS_TYPE_SVCB = 64, DNS_TYPE_HTTPS = 65, DNS_TYPE_SPF = 99,
    DNS_TYPE_TKEY = 249, DNS_TYPE_TSIG = 250,
    /* QTYPEs only (RFC 1035 section 3.2.3, RFC 1995) */
    DNS_TYPE_IXFR = 251, DNS_TYPE_AXFR = 252, DNS_TYPE_MAILB = 253,
    DNS_TYPE_MAILA = 254, DNS_TYPE_ANY = 255,
    DNS_TYPE_URI = 256, DNS_TYPE_CAA = 257,
};

/* Classes (RFC 1035 section 3.2.4; NONE from RFC 2136 section 2.4). */
enum {
    DNS_CLASS_IN = 1, DNS_CLASS_CH = 3, DNS_CLASS_HS = 4,
    DNS_CLASS_NONE = 254, DNS_CLASS_ANY = 255,
};

/* Opcodes (RFC 1035 section 4.1.1, RFC 1996, RFC 2136, RFC 8490). */
enum {
    DNS_OPCODE_QUERY = 0, DNS_OPCODE_IQUERY = 1, DNS_OPCODE_STATUS = 2,
    DNS_OPCODE_NOTIFY = 4, DNS_OPCODE_UPDATE = 5, DNS_OPCODE_DSO = 6,
};

/*
 * RCODEs. 0-15 fit the header's 4 bits; the larger ones exist only with
 * EDNS (the upper 8 bits travel in the OPT RR, RFC 6891 section 6.1.3) or
 * in TSIG/TKEY RDATA (RFC 8945 section 3). 16 is BADVERS in an OPT RR and
 * BADSIG in a TSIG RR: one number, two names (RFC 6895 section 2.3).
 */
enum {
    DNS_RCODE_NOERROR = 0, DNS_RCODE_FORMERR = 1, DNS_RCODE_SERVFAIL = 2,
    DNS_RCODE_NXDOMAIN = 3, DNS_RCODE_NOTIMP = 4, DNS_RCODE_REFUSED = 5,
    DNS_RCODE_YXDOMAIN = 6, DNS_RCODE_YXRRSET = 7, DNS_RCODE_NXRRSET = 8,
    DNS_RCODE_NOTAUTH = 9, DNS_RCODE_NOTZONE = 10, DNS_RCODE_DSOTYPENI = 11,
    DNS_RCODE_BADVERS = 16, DNS_RCODE_BADSIG = 16, DNS_RCODE_BADKEY = 17,
    DNS_RCODE_BADTIME = 18, DNS_RCODE_BADMODE = 19, DNS_RCODE_BADNAME = 20,
    DNS_RCODE_BADALG = 21, DNS_RCODE_BADTRUNC = 22, DNS_RCODE_BADCOOKIE = 23,
};

/* Header flag bits in the second 16-bit word (RFC 1035 section 4.1.1;
 * AD and CD from RFC 4035 section 3.2). OPCODE is bits 11-14, RCODE 0-3. */
enum {
    DNS_FLAG_QR = 0x8000, DNS_FLAG_AA = 0x0400, DNS_FLAG_TC = 0x0200,
    DNS_FLAG_RD = 0x0100, DNS_FLAG_RA = 0x0080, DNS_FLAG_Z = 0x0040,
    DNS_FLAG_AD = 0x0020, DNS_FLAG_CD = 0x0010,
};

/* Room for any text these functions write, NUL included ("CLASS65535"). */
#define DNS_MNEMONIC_MAX 16

/* The mnemonic of a type ("AAAA"), or NULL if it has none. */
const char *dns_type_name(uint16_t type);
/* The type's mnemonic, or "TYPE<n>" written into buf (RFC 3597 section 5).
 * Returns a pointer to the text (buf or a constant string). */
const char *dns_type_to_text(uint16_t type, char buf[DNS_MNEMONIC_MAX]);
/* A mnemonic or "TYPE<n>" (case-insensitive) into *type: 0 or OP_E_SYNTAX. */
int dns_type_from_text(const char *s, size_t len, uint16_t *type);

/* The same three for classes: "IN", "CH", "HS", "NONE", "ANY", "CLASS<n>". */
const char *dns_class_name(uint16_t rclass);
const char *dns_class_to_text(uint16_t rclass, char buf[DNS_MNEMONIC_MAX]);
int dns_class_from_text(const char *s, size_t len, uint16_t *rclass);

/* "NOERROR", "BADVERS" ... or "RCODE<n>" in buf; rcode is the full 12 bits. */
const char *dns_rcode_to_text(uint16_t rcode, char buf[DNS_MNEMONIC_MAX]);
/* "QUERY", "NOTIFY", "UPDATE" ... or "OPCODE<n>" in buf. */
const char *dns_opcode_to_text(uint8_t opcode, char buf[DNS_MNEMONIC_MAX]);

/* True for the types that only make sense in a question (RFC 1035 section
 * 3.2.3, RFC 1995, RFC 6895 section 3.1: 128-255 are meta/query types) or as
 * pseudo-RRs (OPT, TSIG, TKEY): these never appear in zone data. */
bool dns_type_is_meta(uint16_t type);

#endif
