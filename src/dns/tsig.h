/*
 * tsig.h - transaction signatures (RFC 8945): HMAC over a message and the
 * TSIG variables, with a shared secret known by name to both ends.
 *
 * One struct dns_tsig_ctx follows one conversation: a request and its
 * response, or a request and the several messages of a zone transfer
 * (RFC 8945 section 5.3.1: each message's MAC covers the previous MAC, and
 * up to 99 messages in a row may come unsigned; the last must be signed).
 * The server side verifies the request, keeps its MAC in the context and
 * signs each response message with it; the client side signs the request
 * and verifies each response message.
 *
 * Algorithms: hmac-sha256 (required), hmac-sha384, hmac-sha512, hmac-sha1
 * (RFC 8945 section 6), by OpenSSL's HMAC. MACs are compared in constant
 * time. Truncated MACs (section 5.2.2.1) are refused with BADTRUNC.
 * Time: a message whose Time Signed is further than Fudge from now is
 * refused with BADTIME (section 5.2.3); fudge 300 s on what we sign.
 */
#ifndef OP_DNS_TSIG_H
#define OP_DNS_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"
#include "dns/wire.h"
#include "dns/writer.h"

#define DNS_TSIG_MAXMAC 64           /* SHA-512 */
#define DNS_TSIG_MAXSECRET 128

enum dns_tsig_alg {
    DNS_TSIG_HMAC_SHA256, DNS_TSIG_HMAC_SHA384, DNS_TSIG_HMAC_SHA512, DNS_TSIG_HMAC_SHA1,
};

struct dns_tsig_key {
    struct dns_name name;            /* lower-cased */
    enum dns_tsig_alg alg;
    size_t secret_len;
    uint8_t secret[DNS_TSIG_MAXSECRET];
};

/* A key from its text forms: name ("xfr-key" or "xfr-key."), algorithm
 * ("hmac-sha256", ...), secret in base64 (as tsig-keygen and knotc print
 * it). 0, or OP_E_SYNTAX with a sentence in err. */
int dns_tsig_key_init(struct dns_tsig_key *k, const char *name, const char *alg,
                      const char *secret_b64, char *err, size_t errlen);

/* The algorithm's name as a domain name in text ("hmac-sha256."). */
const char *dns_tsig_alg_name(enum dns_tsig_alg alg);

struct dns_tsig_ctx {
    const struct dns_tsig_key *key;  /* NULL: the request was not signed, or
                                      * its key is unknown (error BADKEY) */
    uint8_t mac[DNS_TSIG_MAXMAC];    /* the last MAC sent or checked */
    size_t mac_len;
    unsigned unsigned_run;           /* client side: messages in a row without
                                      * TSIG (1 from the request on, until the
                                      * first signed response) */
    uint16_t error;                  /* TSIG error to report (BADSIG, BADKEY, BADTIME, ...) */
    uint16_t orig_id;                /* the request's Original ID */
    uint64_t time_signed;            /* of the request, echoed in BADTIME answers */
    /* Set by dns_tsig_verify_request whenever the request has a TSIG, even
     * with a key we do not know: the error answer names the same key and
     * algorithm (lower-cased). */
    struct dns_name key_name;
    struct dns_name alg_name;
    /* Client side only: a MAC in progress over unsigned messages of a
     * transfer (an EVP_MAC_CTX), freed when the next signed message is
     * verified or on any error; dns_tsig_ctx_clear frees it when a
     * transfer is abandoned in the middle. */
    void *run;
};

/* Free what a client-side context may still hold (see run); the context
 * may then be used again from its start. Safe to call at any time. */
void dns_tsig_ctx_clear(struct dns_tsig_ctx *ctx);

/* Octets a TSIG RR signed with k takes at most (6 octets of Other Data
 * included, for a BADTIME answer): reserve them in the writer
 * (dns_writer_reserve) before writing the rest of the message. 0 for k
 * NULL; a server answering a request should use dns_tsig_ctx_size, which
 * also covers the unsigned BADKEY answer. */
size_t dns_tsig_size(const struct dns_tsig_key *k);

/* Octets the TSIG RR of the next dns_tsig_sign with ctx takes at most,
 * error answers included (for BADKEY ctx->key is NULL, and the RR names
 * the request's key): what a server reserves for its response. */
size_t dns_tsig_ctx_size(const struct dns_tsig_ctx *ctx);

/*
 * Server side: check the TSIG RR of a request (the last RR of the
 * additional section, RFC 8945 section 5.2; a TSIG anywhere else, two of
 * them, trailing octets, a CLASS other than ANY or a TTL other than 0, or
 * RDATA that does not add up, is FORMERR). The checks go in the order of
 * section 5.2: key (name and algorithm), MAC, time, truncation. ctx is
 * always overwritten (a server context holds nothing to free). Returns:
 *   0       no TSIG in the request (ctx->key NULL): answer unsigned;
 *   1       verified (ctx holds key and MAC for signing the response);
 *   DNS_RCODE_NOTAUTH (negated: -9) with ctx->error BADKEY, BADSIG,
 *           BADTIME or BADTRUNC: answer NOTAUTH with dns_tsig_sign,
 *           which signs per section 5.3.2 (with the request's MAC for
 *           BADTIME and BADTRUNC; unsigned for BADKEY and BADSIG). A MAC
 *           shorter than 10 octets or half the hash is BADSIG; a
 *           truncated MAC that verifies is BADTRUNC (we take none);
 *   -DNS_RCODE_FORMERR  a malformed or misplaced TSIG RR, or a MAC
 *           longer than the algorithm's.
 */
int dns_tsig_verify_request(const struct dns_msg *m, const struct dns_tsig_key *keys,
                            size_t nkeys, uint64_t now, struct dns_tsig_ctx *ctx);

/*
 * Sign the message in w (after dns_writer_release of dns_tsig_size()
 * octets): computes the MAC over the prior MAC (if any, for responses and
 * continuation messages), the message and the TSIG variables, and appends
 * the TSIG RR as the last additional record. first says whether this is
 * the first message of the response (it covers the full variables;
 * later ones of a transfer cover only Time Signed and Fudge, section
 * 5.3.1). Returns 0, -EMSGSIZE (nothing written), -EINVAL (no key).
 *
 * Client side: zero the context, set ctx->key, and sign the request with
 * first true: no prior MAC (mac_len is 0), Original ID is the request's
 * ID. Server side: ctx as dns_tsig_verify_request left it; every message
 * of a response is signed (we never leave messages unsigned).
 *
 * Error answers (section 5.3.2), after dns_tsig_verify_request returned
 * -DNS_RCODE_NOTAUTH, use the same call: for BADKEY and BADSIG the TSIG
 * RR is unsigned (MAC Size 0) and names the request's key and algorithm;
 * for BADTIME it is signed with the request's MAC, Time Signed is the
 * request's and Other Data holds our time (section 5.2.3); BADTRUNC is
 * signed like BADTIME, without Other Data (the MAC was good).
 */
int dns_tsig_sign(struct dns_writer *w, struct dns_tsig_ctx *ctx, uint64_t now, bool first);

/*
 * Client side: verify one response message against the request signed
 * with ctx (first: the first message of the response). Returns 1
 * (verified), 0 (unsigned, allowed in the middle of a transfer: call
 * again; the final message must return 1, which dns_tsig_verify_end
 * checks), or a negative error: -EBADMSG (a malformed or misplaced TSIG
 * RR), OP_E_AUTH (first message unsigned, another key or algorithm,
 * another Original ID, a TSIG error from the server, left in ctx->error,
 * a bad or truncated MAC, time further than Fudge from now, a 100th
 * unsigned message in a row), -EINVAL (ctx signed no request), -ENOMEM.
 * After an error the conversation is over: ctx holds nothing to free and
 * verifies nothing more.
 */
int dns_tsig_verify_response(const struct dns_msg *m, struct dns_tsig_ctx *ctx, uint64_t now,
                             bool first);

/*
 * Client side, when the last message of a response has arrived: 0 if it
 * was signed and verified, OP_E_AUTH if it came unsigned (section 5.3.1:
 * the final message must carry a TSIG). Frees what ctx held (as
 * dns_tsig_ctx_clear).
 */
int dns_tsig_verify_end(struct dns_tsig_ctx *ctx);

#endif
