/*
 * fuzz_dns_journal.c - libFuzzer target for reading IXFR journal files
 * (src/dns/journal.c).
 *
 * The input is cut into payloads (each preceded by one octet giving its
 * length in units of 4 octets, so that the fuzzer can shape records); each
 * payload becomes a journal entry with a correct magic, length and CRC, so
 * the reader gets past the checksum to the records. The file is opened at
 * the serial its last entry claims and at another one; every diff the
 * journal then offers must walk cleanly to its end with the counts it
 * claims. Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "dns/consts.h"
#include "dns/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static void put32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_append(b, x, 4);
}

static void check_journal(struct dns_journal *j, uint32_t to)
{
    size_t n = dns_journal_versions(j);
    for (uint32_t from = 0; from < 4 && n; from++) {
        struct dns_diff **v;
        size_t k;
        if (dns_journal_since(j, from, to, &v, &k) != 0)
            continue;
        for (size_t i = 0; i < k; i++) {
            size_t off = 0, count = 0;
            struct dns_jrec r;
            while (dns_diff_next(v[i], &off, &r))
                count++;
            if (off != v[i]->len || count != (size_t)v[i]->ndel + v[i]->nadd + 2)
                abort();
        }
        dns_diffs_release(v, k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        log_setup("stderr", LOG_LVL_ERR);
        snprintf(path, sizeof path, "/tmp/fuzz-journal-%d", (int)getpid());
    }
    struct buf file = BUF_INIT;
    buf_append(&file, "OUTPOST-JOURNAL 1\n", 18);
    uint32_t last_to = 0;
    size_t o = 0;
    while (o < size) {
        size_t len = (size_t)data[o++] * 4;
        if (len > size - o)
            len = size - o;
        put32(&file, 0x4f504a44u);
        put32(&file, (uint32_t)len);
        buf_append(&file, data + o, len);
        put32(&file, crc32_ieee(data + o, len));
        if (len >= 8)
            last_to = (uint32_t)data[o + 4] << 24 | (uint32_t)data[o + 5] << 16 |
                      (uint32_t)data[o + 6] << 8 | data[o + 7];
        o += len;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        buf_free(&file);
        return 0;
    }
    fwrite(buf_ptr(&file), 1, buf_len(&file), f);
    fclose(f);
    buf_free(&file);
    struct dns_journal *j = dns_journal_open(path, "fuzz.test", last_to);
    if (j) {
        check_journal(j, last_to);
        dns_journal_unref(j);
    }
    unlink(path);
    return 0;
}
