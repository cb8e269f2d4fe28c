/*
 * snapshot.c - replaceable, reference-counted settings. See snapshot.h.
 *
 * The mutex guards only the slot's pointer and the taking of a reference
 * (so a snapshot cannot be freed between reading the pointer and counting
 * the new holder); the count itself is atomic, so dropping a reference
 * never waits.
 */
#include "base/snapshot.h"

#include <stdatomic.h>
#include <stddef.h>

void snapshot_init(struct snapshot *s, void (*destroy)(struct snapshot *))
{
    atomic_init(&s->refs, 1);
    s->destroy = destroy;
}

struct snapshot *snapshot_get(struct snapshot_slot *slot)
{
    pthread_mutex_lock(&slot->mu);
    struct snapshot *s = slot->cur;
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&slot->mu);
    return s;
}

void snapshot_put(struct snapshot *s)
{
    /* acq_rel: the destroying thread sees every write other holders made
     * before they let go. */
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        s->destroy(s);
}

void snapshot_install(struct snapshot_slot *slot, struct snapshot *s)
{
    pthread_mutex_lock(&slot->mu);
    struct snapshot *old = slot->cur;
    slot->cur = s;
    pthread_mutex_unlock(&slot->mu);
    snapshot_put(old);
}
