/*
 * throttle.c - failed-login slowdown per client address.
 *
 * The table is a fixed array of THR_SLOTS entries organised as a set-
 * associative cache: a key hashes to a set of THR_WAYS consecutive slots and
 * lives in one of them. A lookup looks at those slots only, so memory and
 * time are bounded whatever clients do; when a set is full, the entry whose
 * last failure is oldest gives way. The hash is keyed with a random seed so
 * that a client cannot choose addresses that all land in one set to push
 * another client's entry out.
 *
 * One mutex guards the table: every operation is a handful of comparisons.
 */
#include "auth/throttle.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/util.h"

#define THR_SLOTS     4096u
#define THR_WAYS      8u
#define THR_BASE_MS   250u
#define THR_MAX_MS    16000u
#define THR_FORGET_MS (60u * 60u * 1000u)

/* Families of a key. THR_OTHER groups every peer that is neither IPv4 nor
 * IPv6 (a Unix socket, say) under one entry. */
enum { THR_EMPTY = 0, THR_V4, THR_V6, THR_OTHER };

struct thr_key {
    uint8_t  family;
    uint64_t addr;    /* IPv4 address, or the first 64 bits of IPv6 */
};

struct thr_entry {
    struct thr_key key;
    uint32_t failures;
    uint64_t last_ms;   /* monotonic time of the last failure */
};

static pthread_mutex_t thr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct thr_entry thr_table[THR_SLOTS];
static uint64_t thr_seed;
static bool thr_seeded;

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The key that groups peer with the clients that share its fate: the IPv4
 * address itself, or the IPv6 /64, since one IPv6 host usually controls a
 * whole /64 (RFC 4291 section 2.5.1 interface identifiers). An IPv4-mapped
 * IPv6 address (RFC 4291 section 2.5.5.2, what a dual-stack socket reports
 * for IPv4 clients) is keyed as the IPv4 address it is. */
static struct thr_key peer_key(const struct sockaddr_storage *peer)
{
    struct thr_key k = {THR_OTHER, 0};
    if (!peer)
        return k;
    if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)peer;
        k.family = THR_V4;
        k.addr = load_be((const uint8_t *)&s4->sin_addr.s_addr, 4);
    } else if (peer->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)peer;
        const uint8_t *a = s6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            k.family = THR_V4;
            k.addr = load_be(a + 12, 4);
        } else {
            k.family = THR_V6;
            k.addr = load_be(a, 8);
        }
    }
    return k;
}

/* A keyed mix of the key (the splitmix64 finaliser over key ^ seed). */
static uint64_t key_hash(struct thr_key k)
{
    uint64_t x = k.addr ^ thr_seed ^ ((uint64_t)k.family << 56 | (uint64_t)k.family);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static bool key_eq(struct thr_key a, struct thr_key b)
{
    return a.family == b.family && a.addr == b.addr;
}

static void seed_once(void)
{
    if (thr_seeded)
        return;
    /* Without the kernel's randomness the table still works, only with a
     * predictable set layout. */
    if (random_bytes(&thr_seed, sizeof thr_seed) < 0)
        thr_seed = clock_ms() * 0x9e3779b97f4a7c15ull;
    thr_seeded = true;
}

static bool expired(const struct thr_entry *e, uint64_t now)
{
    return now > e->last_ms && now - e->last_ms >= THR_FORGET_MS;
}

/* The first slot of the set that k lives in. */
static size_t set_of(struct thr_key k)
{
    return (size_t)(key_hash(k) % (THR_SLOTS / THR_WAYS)) * THR_WAYS;
}

static struct thr_entry *find(struct thr_key k)
{
    size_t base = set_of(k);
    for (size_t i = 0; i < THR_WAYS; i++) {
        struct thr_entry *e = &thr_table[base + i];
        if (e->key.family != THR_EMPTY && key_eq(e->key, k))
            return e;
    }
    return NULL;
}

/* A slot for a new key: a free or forgotten one, else the stalest. */
static struct thr_entry *claim(struct thr_key k, uint64_t now)
{
    size_t base = set_of(k);
    struct thr_entry *victim = &thr_table[base];
    for (size_t i = 0; i < THR_WAYS; i++) {
        struct thr_entry *e = &thr_table[base + i];
        if (e->key.family == THR_EMPTY || expired(e, now))
            return e;
        if (e->last_ms < victim->last_ms)
            victim = e;
    }
    return victim;
}

static unsigned delay_for(uint32_t failures)
{
    /* 250 ms doubled per failure after the first; 2^6 * 250 = 16000 is the
     * cap, reached at the 7th failure. */
    uint32_t shift = failures - 1;
    if (shift > 6)
        return THR_MAX_MS;
    unsigned d = THR_BASE_MS << shift;
    return d > THR_MAX_MS ? THR_MAX_MS : d;
}

/* With thr_lock held. */
static unsigned fail_locked(const struct sockaddr_storage *peer, uint64_t now)
{
    struct thr_key k = peer_key(peer);
    seed_once();
    struct thr_entry *e = find(k);
    if (e && expired(e, now))
        e->failures = 0;    /* an hour of quiet starts over */
    if (!e) {
        e = claim(k, now);
        e->key = k;
        e->failures = 0;
    }
    if (e->failures < UINT32_MAX)
        e->failures++;
    e->last_ms = now;
    return delay_for(e->failures);
}

unsigned throttle_fail(const struct sockaddr_storage *peer)
{
    pthread_mutex_lock(&thr_lock);
    /* Read under the lock, so last_ms never runs ahead of now. */
    unsigned d = fail_locked(peer, clock_ms());
    pthread_mutex_unlock(&thr_lock);
    return d;
}

unsigned throttle_fail_at(const struct sockaddr_storage *peer, uint64_t now_ms)
{
    pthread_mutex_lock(&thr_lock);
    unsigned d = fail_locked(peer, now_ms);
    pthread_mutex_unlock(&thr_lock);
    return d;
}

void throttle_success(const struct sockaddr_storage *peer)
{
    struct thr_key k = peer_key(peer);
    pthread_mutex_lock(&thr_lock);
    seed_once();
    struct thr_entry *e = find(k);
    if (e)
        memset(e, 0, sizeof *e);
    pthread_mutex_unlock(&thr_lock);
}

void throttle_reset(void)
{
    pthread_mutex_lock(&thr_lock);
    memset(thr_table, 0, sizeof thr_table);
    pthread_mutex_unlock(&thr_lock);
}
