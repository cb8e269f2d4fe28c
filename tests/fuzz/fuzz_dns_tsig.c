/*
 * fuzz_dns_tsig.c - libFuzzer target for src/dns/tsig.c.
 *
 * The input is a request and the messages of a response, each as a
 * 16-bit length and that many octets (an input shorter than the request's
 * length is all request). The clock is fixed, and so are four keys, one per
 * algorithm, all named "xfr-key" with the secrets of
 * tests/unit/tsig_vectors.py, so the seeds made from those vectors get
 * past the MAC.
 *
 * The request goes through dns_tsig_verify_request. Whatever the result,
 * it must be one of those the contract lists, and the answer we sign from
 * the context must parse with its TSIG RR last, within the room
 * dns_tsig_ctx_size() gave; a verified request's answer must verify on
 * the client side, and error answers for BADKEY and BADSIG must carry no
 * MAC. Then the messages of the response go through
 * dns_tsig_verify_response with the verified request's context, in turn
 * (unsigned ones pile up, refusals end it and free what was held), and
 * dns_tsig_verify_end must accept exactly a response that ended on a
 * verified message. Any violation aborts; leaks are
 * found by the sanitizer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dns/consts.h"
#include "dns/tsig.h"
#include "dns/wire.h"
#include "dns/writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000ULL

static struct dns_tsig_key keys[4];
static bool ready;

static void setup(void)
{
    static const char *const alg[4] = {"hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha1"};
    static const char *const secret[4] = {
        "c2VjcmV0LWZvci1zaGEyNTYta2V5LTMyLW9jdGV0cyE=",
        "c2VjcmV0LWZvci1zaGEzODQta2V5LTQ4LW9jdGV0cy1hYmNkZWZnaGlqa2w=",
        "c2VjcmV0LWZvci1zaGE1MTIta2V5LTY0LW9jdGV0cy1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3g=",
        "c2VjcmV0LWZvci1zaGExLWtleQ==",
    };
    char err[128];
    for (int i = 0; i < 4; i++)
        if (dns_tsig_key_init(&keys[i], "xfr-key", alg[i], secret[i], err, sizeof err) != 0)
            abort();
    ready = true;
}

/* Sign an answer to a request with ID id from ctx, check it, and return
 * its length (in buf). */
static size_t answer(struct dns_tsig_ctx *ctx, uint16_t id, uint8_t *buf, size_t cap)
{
    struct dns_writer w;
    struct dns_header h = {.id = id, .qr = 1, .rcode = DNS_RCODE_NOTAUTH};
    size_t room = dns_tsig_ctx_size(ctx);
    if (dns_writer_init(&w, buf, cap, &h) != 0 || dns_writer_reserve(&w, room) != 0)
        abort();
    dns_writer_release(&w, room);
    if (dns_tsig_sign(&w, ctx, NOW, true) != 0)
        abort();
    size_t len = dns_writer_len(&w);
    if (len > DNS_HEADER_SIZE + room)
        abort();
    struct dns_rr rr[4];
    struct dns_msg m;
    if (dns_msg_parse(&m, buf, len, rr, 4) != 0 || m.nrr != 1 || m.rr[0].type != DNS_TYPE_TSIG ||
        m.rr[0].section != DNS_SECTION_ADDITIONAL || m.trailing != 0)
        abort();
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    size_t qlen = size;
    const uint8_t *q = data, *r = NULL;
    size_t rlen = 0;
    if (size >= 2 && (size_t)(data[0] << 8 | data[1]) <= size - 2) {
        qlen = (size_t)(data[0] << 8 | data[1]);
        q = data + 2;
        r = q + qlen;
        rlen = size - 2 - qlen;
    }

    static struct dns_rr rrs[DNS_MSG_MAXRR(DNS_MSG_MAX)];
    struct dns_msg m;
    if (dns_msg_parse(&m, q, qlen, rrs, DNS_MSG_MAXRR(DNS_MSG_MAX)) != 0)
        return 0;
    struct dns_tsig_ctx srv;
    int v = dns_tsig_verify_request(&m, keys, 4, NOW, &srv);
    static uint8_t buf[DNS_MSG_MAX];
    switch (v) {
    case 0:
        if (srv.key)
            abort();
        return 0;
    case 1: {
        if (!srv.key || srv.error != 0 || srv.mac_len < 20)
            abort();
        struct dns_tsig_ctx cli = srv, srv2 = srv;
        size_t len = answer(&srv2, m.hdr.id, buf, sizeof buf);
        struct dns_rr rr2[4];
        struct dns_msg a;
        if (dns_msg_parse(&a, buf, len, rr2, 4) != 0 ||
            dns_tsig_verify_response(&a, &cli, NOW, true) != 1 || dns_tsig_verify_end(&cli) != 0)
            abort();
        break;
    }
    case -DNS_RCODE_NOTAUTH: {
        bool unsigned_err = srv.error == DNS_RCODE_BADKEY || srv.error == DNS_RCODE_BADSIG;
        if (!unsigned_err && srv.error != DNS_RCODE_BADTIME && srv.error != DNS_RCODE_BADTRUNC)
            abort();
        if ((srv.key == NULL) != (srv.error == DNS_RCODE_BADKEY))
            abort();
        struct dns_tsig_ctx srv2 = srv;
        answer(&srv2, m.hdr.id, buf, sizeof buf);
        if (unsigned_err && srv2.mac_len != 0)
            abort();
        if (!unsigned_err && srv2.mac_len == 0)
            abort();
        break;
    }
    case -DNS_RCODE_FORMERR:
        return 0;
    default:
        abort();
    }
    if (v != 1 || !r)
        return 0;

    /* The response: its messages in turn, with the request's MAC. */
    struct dns_tsig_ctx cli = srv;
    bool ended_signed = false;
    int i;
    for (i = 0; rlen >= 2; i++) {
        size_t n = (size_t)(r[0] << 8 | r[1]);
        if (n > rlen - 2)
            n = rlen - 2;
        if (dns_msg_parse(&m, r + 2, n, rrs, DNS_MSG_MAXRR(DNS_MSG_MAX)) != 0)
            break;
        r += 2 + n;
        rlen -= 2 + n;
        int x = dns_tsig_verify_response(&m, &cli, NOW, i == 0);
        if (x != 1 && x != 0 && x != -EBADMSG && x != OP_E_AUTH && x != -EINVAL)
            abort();
        if (x == 0 && (i == 0 || cli.unsigned_run > 99 || !cli.run))
            abort();              /* first signed, at most 99 unsigned, kept */
        if (x < 0 && (cli.run || cli.mac_len != 0))
            abort();              /* a refusal frees what was pending and ends */
        ended_signed = x == 1;
        if (x < 0)
            break;
    }
    if (i > 0 && (dns_tsig_verify_end(&cli) == 0) != ended_signed)
        abort();
    dns_tsig_ctx_clear(&cli);
    if (cli.run)
        abort();
    return 0;
}
