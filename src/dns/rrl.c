/*
 * rrl.c - response-rate limiting (see rrl.h): token buckets in a fixed,
 * lock-striped table.
 */
#include "dns/rrl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "dns/consts.h"

#define WAYS 4
#define STRIPES 64
/* Tokens are counted in thousandths, so a refill of rate per second is
 * exact per millisecond. */
#define MILLI 1000

struct entry {
    uint64_t key;                    /* 0: free */
    int64_t tokens;                  /* thousandths of a response */
    uint64_t last_ms;                /* last refill */
    uint32_t dropped;                /* since the last response sent */
};

static struct entry g_table[DNS_RRL_ENTRIES];
static pthread_mutex_t g_stripe[STRIPES];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static uint64_t g_seed;
static _Atomic unsigned g_rate, g_slip;

static void init_once(void)
{
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&g_stripe[i], NULL);
    if (random_bytes(&g_seed, sizeof g_seed) < 0)
        g_seed = clock_ms() * 0x9e3779b97f4a7c15ull;
}

void dns_rrl_configure(unsigned rate, unsigned slip)
{
    pthread_once(&g_once, init_once);
    atomic_store(&g_rate, rate);
    atomic_store(&g_slip, slip);
}

/* FNV-1a over 64 bits, seeded: good enough to spread keys over the sets;
 * the random seed keeps a client from aiming at one set. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t mix_name(uint64_t h, const struct dns_name *n)
{
    for (size_t i = 0; i < n->len; i++) {
        uint8_t c = n->wire[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);       /* names are equal ignoring ASCII case */
        h = (h ^ c) * 0x100000001b3ull;
    }
    return h;
}

/* The client's network: IPv4 /24 (also IPv4-mapped), IPv6 /56. */
static uint64_t mix_prefix(uint64_t h, const struct sockaddr_storage *peer)
{
    uint8_t net[8] = {0};
    if (peer->ss_family == AF_INET) {
        memcpy(net, &((const struct sockaddr_in *)peer)->sin_addr, 3);
        net[7] = 4;
    } else if (peer->ss_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a)) {
            memcpy(net, a + 12, 3);
            net[7] = 4;
        } else {
            memcpy(net, a, 7);
            net[7] = 6;
        }
    }
    return mix(h, net, sizeof net);
}

static uint64_t key_of(const struct sockaddr_storage *peer, const struct dns_auth_result *res)
{
    uint64_t h = mix_prefix(g_seed ^ 0xcbf29ce484222325ull, peer);
    uint8_t kind = (uint8_t)res->kind;
    h = mix(h, &kind, 1);
    switch (res->kind) {
    case DNS_AUTH_ANSWER:
    case DNS_AUTH_NODATA:
        h = mix_name(h, &res->qname);
        h = mix(h, &res->qtype, sizeof res->qtype);
        break;
    case DNS_AUTH_NXDOMAIN:
    case DNS_AUTH_REFERRAL:
        if (res->zone)
            h = mix_name(h, dns_zone_apex(res->zone));
        break;
    default:
        break;
    }
    return h ? h : 1;                    /* 0 marks a free entry */
}

static const char *kind_name(enum dns_auth_kind k)
{
    switch (k) {
    case DNS_AUTH_ANSWER: return "answers";
    case DNS_AUTH_NODATA: return "NODATA answers";
    case DNS_AUTH_NXDOMAIN: return "NXDOMAIN answers";
    case DNS_AUTH_REFERRAL: return "referrals";
    default: return "error answers";
    }
}

/* "192.0.2.0/24" or "2001:db8:0:100::/56", for the log. */
static void format_prefix(const struct sockaddr_storage *peer, char *out, size_t len)
{
    uint8_t a[16] = {0};
    if (peer->ss_family == AF_INET6) {
        const uint8_t *s6 = ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr;
        if (!IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)s6)) {
            memcpy(a, s6, 7);
            char t[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, a, t, sizeof t);
            snprintf(out, len, "%s/56", t);
            return;
        }
        memcpy(a, s6 + 12, 3);
    } else if (peer->ss_family == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)peer)->sin_addr, 3);
    }
    snprintf(out, len, "%u.%u.%u.0/24", a[0], a[1], a[2]);
}

enum dns_rrl_action dns_rrl_check(const struct sockaddr_storage *peer,
                                  const struct dns_auth_result *res, uint64_t now_ms)
{
    unsigned rate = atomic_load_explicit(&g_rate, memory_order_relaxed);
    if (rate == 0 || res->kind == DNS_AUTH_DROP)
        return DNS_RRL_SEND;
    const int64_t full = (int64_t)rate * MILLI;     /* a burst of one second */
    uint64_t key = key_of(peer, res);
    size_t set = (size_t)(key % (DNS_RRL_ENTRIES / WAYS)) * WAYS;
    pthread_mutex_t *mu = &g_stripe[(set / WAYS) % STRIPES];
    pthread_mutex_lock(mu);
    struct entry *e = NULL, *oldest = &g_table[set];
    for (size_t i = set; i < set + WAYS; i++) {
        if (g_table[i].key == key) {
            e = &g_table[i];
            break;
        }
        if (g_table[i].last_ms < oldest->last_ms || g_table[i].key == 0)
            oldest = &g_table[i];
    }
    if (!e) {
        e = oldest;
        *e = (struct entry){key, full, now_ms, 0};
    }
    /* Refill: rate per second is rate thousandths per millisecond. */
    if (now_ms > e->last_ms) {
        e->tokens += (int64_t)(now_ms - e->last_ms) * rate;
        if (e->tokens > full)
            e->tokens = full;
        e->last_ms = now_ms;
    }
    enum dns_rrl_action act;
    bool first_drop = false;
    if (e->tokens >= MILLI) {
        e->tokens -= MILLI;
        e->dropped = 0;
        act = DNS_RRL_SEND;
    } else {
        first_drop = e->dropped == 0;
        e->dropped++;
        unsigned slip = atomic_load_explicit(&g_slip, memory_order_relaxed);
        act = slip && e->dropped % slip == 0 ? DNS_RRL_SLIP : DNS_RRL_DROP;
    }
    pthread_mutex_unlock(mu);
    if (first_drop && log_enabled(LOG_LVL_INFO)) {
        char ip[64];
        format_prefix(peer, ip, sizeof ip);
        log_info("dns rrl: limiting %s to %s to %u per second", kind_name(res->kind), ip, rate);
    }
    return act;
}
