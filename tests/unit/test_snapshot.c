/* Unit tests for src/base/snapshot.c. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "base/snapshot.h"

struct settings_v {
    struct snapshot snap;
    int version;
};

static atomic_int g_destroyed;

static void destroy_v(struct snapshot *s)
{
    atomic_fetch_add(&g_destroyed, 1);
    free(s);
}

static struct settings_v *make_v(int version)
{
    struct settings_v *v = calloc(1, sizeof *v);
    snapshot_init(&v->snap, destroy_v);
    v->version = version;
    return v;
}

TEST(snapshot_old_one_lives_until_its_last_holder_lets_go)
{
    struct snapshot_slot slot = SNAPSHOT_SLOT_INIT;
    atomic_store(&g_destroyed, 0);
    REQUIRE(snapshot_get(&slot) == NULL);
    snapshot_install(&slot, &make_v(1)->snap);
    struct settings_v *held = (struct settings_v *)snapshot_get(&slot);
    REQUIRE(held != NULL);
    CHECK_INT(held->version, 1);

    /* A reload: new sessions see version 2, the holder keeps version 1. */
    snapshot_install(&slot, &make_v(2)->snap);
    CHECK_INT(atomic_load(&g_destroyed), 0);
    CHECK_INT(held->version, 1);
    struct settings_v *fresh = (struct settings_v *)snapshot_get(&slot);
    CHECK_INT(fresh->version, 2);
    snapshot_put(&fresh->snap);
    CHECK_INT(atomic_load(&g_destroyed), 0);

    snapshot_put(&held->snap);
    CHECK_INT(atomic_load(&g_destroyed), 1);         /* version 1 went with its holder */

    snapshot_install(&slot, NULL);                   /* shutdown */
    CHECK_INT(atomic_load(&g_destroyed), 2);
    REQUIRE(snapshot_get(&slot) == NULL);
    snapshot_put(NULL);
}

struct race {
    struct snapshot_slot *slot;
    int rounds;
};

static void *reader(void *arg)
{
    struct race *r = arg;
    for (int i = 0; i < r->rounds; i++) {
        struct settings_v *v = (struct settings_v *)snapshot_get(r->slot);
        if (v && v->version < 0)
            abort();                                 /* read it: ASan sees a use after free */
        snapshot_put(v ? &v->snap : NULL);
    }
    return NULL;
}

TEST(snapshot_reloads_race_with_readers)
{
    struct snapshot_slot slot = SNAPSHOT_SLOT_INIT;
    atomic_store(&g_destroyed, 0);
    snapshot_install(&slot, &make_v(0)->snap);
    struct race r = {&slot, 20000};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        REQUIRE(pthread_create(&t[i], NULL, reader, &r) == 0);
    for (int v = 1; v <= 2000; v++)
        snapshot_install(&slot, &make_v(v)->snap);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    snapshot_install(&slot, NULL);
    CHECK_INT(atomic_load(&g_destroyed), 2001);      /* every version freed once */
}
