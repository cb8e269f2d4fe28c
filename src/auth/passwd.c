/*
 * passwd.c - yescrypt password hashes through libxcrypt.
 *
 * libxcrypt keeps its whole working state in a struct crypt_data of about
 * 32 KiB; it is taken from the heap (worker threads may have small stacks)
 * and wiped before it is released, since it holds password-derived bytes.
 */
#include "auth/passwd.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stringprep.h>

#include <openssl/crypto.h>

#include "base/err.h"
#include "base/util.h"

/* Used only if computing a fresh dummy hash fails: a yescrypt hash with
 * libxcrypt's default cost of a random string nobody knows. */
static const char dummy_fallback[] =
    "$y$j9T$f3clIoyAe6Nf9FW9b67df/$BBCp6NyhvKtejLJ2ZyYBCLN0Eix4kLUH5lPmQ3QsEiB";

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[PASSWD_HASH_MAX];

static struct crypt_data *cdata_new(void)
{
    return calloc(1, sizeof(struct crypt_data));
}

static void cdata_free(struct crypt_data *cd)
{
    if (!cd)
        return;
    explicit_bzero(cd, sizeof *cd);
    free(cd);
}

/* RFC 4616 section 2 (PLAIN) asks for SASLprep (RFC 4013) of the password,
 * so that the same text typed in another Unicode form (a no-break space for
 * a space, a composed letter for a decomposed one) still matches. It is
 * applied the same way when a password is set and when it is checked, with
 * unassigned code points allowed (the "query" mode) so the mapping never
 * depends on when the password was set. A password SASLprep refuses
 * (invalid UTF-8, control characters) is used as it is: the same bytes on
 * both sides still match. Printable ASCII is never changed. *tofree is what
 * the caller must wipe and free. */
static const char *prepared(const char *password, char **tofree)
{
    *tofree = NULL;
    char *out = NULL;
    if (stringprep_profile(password, &out, "SASLprep", 0) != STRINGPREP_OK) {
        free(out);
        return password;
    }
    *tofree = out;
    return out;
}

static void wipe_free(char *p)
{
    if (p) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}

/* Settings that mean "no password can match" in crypt(5) ('*') and in
 * shadow(5) ('!', a locked account). */
static bool hash_is_disabled(const char *hash)
{
    return hash[0] == '\0' || hash[0] == '*' || hash[0] == '!';
}

int passwd_hash(const char *password, char *out, size_t outlen)
{
    if (!password || !out)
        return -EINVAL;
    if (outlen == 0)
        return -ENOSPC;
    out[0] = '\0';

    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    errno = 0;
    /* Count 0 asks for libxcrypt's current default cost; NULL random bytes
     * let it draw the salt from the kernel itself. */
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof salt))
        return errno ? -errno : OP_E_AUTH;

    struct crypt_data *cd = cdata_new();
    if (!cd)
        return -ENOMEM;
    int r = 0;
    char *tofree;
    const char *h = crypt_rn(prepared(password, &tofree), salt, cd, (int)sizeof *cd);
    wipe_free(tofree);
    if (!h || h[0] == '*')
        r = OP_E_AUTH;
    else if (!str_copy(out, outlen, h)) {
        out[0] = '\0';
        r = -ENOSPC;
    }
    cdata_free(cd);
    return r;
}

/* 1 if password matches hash, 0 if not, -1 if hash is not usable (nothing
 * was computed then). */
static int verify_hash(const char *password, const char *hash)
{
    if (!hash || hash_is_disabled(hash))
        return -1;
    struct crypt_data *cd = cdata_new();
    if (!cd)
        return -1;
    int r = -1;
    char *tofree;
    const char *h = crypt_rn(prepared(password ? password : "", &tofree), hash, cd, (int)sizeof *cd);
    wipe_free(tofree);
    if (h && h[0] != '*') {
        size_t hl = strlen(h), sl = strlen(hash);
        /* The lengths are public (they follow from the hash's own prefix);
         * the bytes are compared without an early exit. */
        r = hl == sl && CRYPTO_memcmp(h, hash, hl) == 0;
    }
    cdata_free(cd);
    return r;
}

static void dummy_compute(void)
{
    char pw[33];
    unsigned char rnd[16];
    if (random_bytes(rnd, sizeof rnd) == 0) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < sizeof rnd; i++) {
            pw[2 * i] = hex[rnd[i] >> 4];
            pw[2 * i + 1] = hex[rnd[i] & 15];
        }
        pw[32] = '\0';
        if (passwd_hash(pw, dummy_hash, sizeof dummy_hash) == 0) {
            explicit_bzero(pw, sizeof pw);
            return;
        }
    }
    explicit_bzero(pw, sizeof pw);
    str_copy(dummy_hash, sizeof dummy_hash, dummy_fallback);
}

void passwd_dummy_init(void)
{
    pthread_once(&dummy_once, dummy_compute);
}

/* Keeps the result of the dummy verification observable so the work is
 * never optimised away. */
static volatile int dummy_sink;

void passwd_verify_dummy(const char *password)
{
    passwd_dummy_init();
    dummy_sink = verify_hash(password, dummy_hash);
}

bool passwd_verify(const char *password, const char *hash)
{
    int r = verify_hash(password, hash);
    if (r < 0) {
        /* An unusable hash (locked account, damaged entry) must not answer
         * faster than a wrong password would. */
        passwd_verify_dummy(password);
        return false;
    }
    return r == 1;
}
