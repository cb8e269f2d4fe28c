#include "auth/login.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts.h"
#include "base/err.h"

/* One accounts handle per pool thread: SQLite connections must not be
 * shared between threads, and opening one per login would cost more than
 * the lookup. The key's destructor closes it when the thread ends. */
struct thread_acc {
    struct accounts *acc;
    char datadir[4096];
};

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void close_thread_acc(void *p)
{
    struct thread_acc *t = p;
    if (t->acc)
        accounts_close(t->acc);
    free(t);
}

static void make_key(void)
{
    pthread_key_create(&g_key, close_thread_acc);
}

struct accounts *auth_thread_accounts(const char *datadir, int *err)
{
    pthread_once(&g_once, make_key);
    struct thread_acc *t = pthread_getspecific(g_key);
    if (t && strcmp(t->datadir, datadir) == 0)
        return t->acc;
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) {
            *err = -ENOMEM;
            return NULL;
        }
        pthread_setspecific(g_key, t);
    }
    if (t->acc) {
        accounts_close(t->acc);
        t->acc = NULL;
    }
    if (strlen(datadir) >= sizeof t->datadir) {
        *err = -ENAMETOOLONG;
        return NULL;
    }
    int r = accounts_open(datadir, &t->acc);
    if (r < 0) {
        t->acc = NULL;
        *err = r;
        return NULL;
    }
    strcpy(t->datadir, datadir);
    return t->acc;
}

int auth_login(const char *datadir, const char *address, const char *password)
{
    int err = 0;
    struct accounts *acc = auth_thread_accounts(datadir, &err);
    if (!acc)
        return err;
    return accounts_check_login(acc, address, password);
}
