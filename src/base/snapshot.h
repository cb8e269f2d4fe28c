/*
 * snapshot.h - settings that can be replaced while sessions still use the
 * old ones.
 *
 * A service's settings live in an immutable, reference-counted snapshot
 * (a struct that starts with a struct snapshot). A session takes a
 * reference when it starts and keeps using that snapshot to its end; a
 * reload (SIGHUP) installs a new one into the service's slot, and the old
 * one is freed when its last session lets go. So no session ever sees
 * settings change halfway, and no lock is held while they are used.
 */
#ifndef OP_BASE_SNAPSHOT_H
#define OP_BASE_SNAPSHOT_H

#include <pthread.h>

struct snapshot {
    _Atomic int refs;
    void (*destroy)(struct snapshot *);     /* frees the whole containing struct */
};

/* Where a service keeps its current snapshot. */
struct snapshot_slot {
    pthread_mutex_t mu;
    struct snapshot *cur;
};
#define SNAPSHOT_SLOT_INIT {PTHREAD_MUTEX_INITIALIZER, NULL}

/* A new snapshot holds one reference, its creator's. */
void snapshot_init(struct snapshot *s, void (*destroy)(struct snapshot *));

/* The slot's current snapshot with a reference taken, or NULL when none
 * is installed. Release it with snapshot_put(). */
struct snapshot *snapshot_get(struct snapshot_slot *slot);

/* Drop a reference (NULL is fine); the last one destroys the snapshot. */
void snapshot_put(struct snapshot *s);

/* Make s (may be NULL) the current snapshot, taking over the caller's
 * reference, and drop the slot's reference to the one it replaces. */
void snapshot_install(struct snapshot_slot *slot, struct snapshot *s);

#endif
