/*
 * fuzz_dns_client.c - libFuzzer target for the pure parts of
 * src/dns/client.c: the answer check and the resolv.conf reader.
 *
 * The input is taken three ways:
 *   - as a response to a fixed query whose ID is the input's first two
 *     octets: dns_client_check_reply() must not read past the input, and
 *     when it accepts, the response must have a header with the query's
 *     ID, QR set and the same opcode, and either exactly one question
 *     equal to the query's (name ignoring case, type, class) or none with
 *     FORMERR or NOTIMP; patching the ID must make it refuse;
 *   - as the same response with its question name upper-cased: the
 *     verdict must be the same (RFC 4343 case-insensitivity);
 *   - as resolv.conf text: at most max servers, each IPv4 or IPv6 on port
 *     53, each printable as an address.
 * Any violation aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/client.h"
#include "dns/consts.h"
#include "dns/name.h"
#include "dns/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t resp[DNS_MSG_MAX], upper[DNS_MSG_MAX];

static void check_accepted(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen)
{
    struct dns_header qh, rh;
    if (dns_header_read(q, qlen, &qh) < 0 || dns_header_read(r, rlen, &rh) < 0)
        abort();
    if (rh.id != qh.id || !rh.qr || rh.opcode != qh.opcode)
        abort();
    if (rh.count[DNS_SECTION_QUESTION] == 0) {
        if (rh.rcode != DNS_RCODE_FORMERR && rh.rcode != DNS_RCODE_NOTIMP)
            abort();
        return;
    }
    if (rh.count[DNS_SECTION_QUESTION] != 1)
        abort();
    struct dns_name qn, rn;
    int ql = dns_name_read(q, qlen, DNS_HEADER_SIZE, &qn);
    int rl = dns_name_read(r, rlen, DNS_HEADER_SIZE, &rn);
    if (ql < 0 || rl < 0 || !dns_name_equal(&qn, &rn))
        abort();
    if ((size_t)rl + DNS_HEADER_SIZE + 4 > rlen ||
        memcmp(q + DNS_HEADER_SIZE + ql, r + DNS_HEADER_SIZE + rl, 4) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. the input as a response */
    if (size >= 2 && size <= DNS_MSG_MAX) {
        struct dns_name n;
        if (dns_name_from_text(&n, "www.example.test.", 17, NULL) < 0)
            abort();
        struct dns_query_opts o = {.rd = true, .edns = true};
        uint8_t q[512];
        uint16_t id = (uint16_t)(data[0] << 8 | data[1]);
        int qlen = dns_client_build_query(q, sizeof q, id, &n, DNS_TYPE_AAAA, DNS_CLASS_IN, &o);
        if (qlen < 0)
            abort();
        /* A copy of exactly size octets, so ASan sees any overread. */
        memcpy(resp, data, size);
        const char *why = dns_client_check_reply(q, (size_t)qlen, resp, size);
        if (!why) {
            check_accepted(q, (size_t)qlen, resp, size);
            resp[1] ^= 1;
            if (!dns_client_check_reply(q, (size_t)qlen, resp, size))
                abort();
            resp[1] ^= 1;
        }
        /* 2. the same with the labels of an uncompressed question upper-cased */
        memcpy(upper, data, size);
        for (size_t pos = DNS_HEADER_SIZE; pos < size && upper[pos] && upper[pos] < 64;) {
            size_t end = pos + 1 + upper[pos];
            for (size_t i = pos + 1; i < end && i < size; i++)
                if (upper[i] >= 'a' && upper[i] <= 'z')
                    upper[i] = (uint8_t)(upper[i] - 'a' + 'A');
            pos = end;
        }
        const char *why2 = dns_client_check_reply(q, (size_t)qlen, upper, size);
        if ((why == NULL) != (why2 == NULL))
            abort();
    }

    /* 3. the input as resolv.conf */
    struct dns_server s[DNS_RESOLV_MAXNS];
    int n = dns_resolv_conf_parse((const char *)data, size, s, DNS_RESOLV_MAXNS);
    if (n < 0 || n > DNS_RESOLV_MAXNS)
        abort();
    for (int i = 0; i < n; i++) {
        char text[80];
        if ((s[i].addr.ss_family != AF_INET && s[i].addr.ss_family != AF_INET6) ||
            dns_server_port(&s[i]) != 53 || dns_server_addr_text(&s[i], text, sizeof text) < 0)
            abort();
    }
    return 0;
}
