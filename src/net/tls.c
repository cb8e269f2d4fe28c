#include "net/tls.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *g_ctx;

const char *tls_error(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (!e)
        snprintf(buf, len, "unknown TLS error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* ---- session identity (tls_session_token) ----------------------------------- */

#define TOKEN_LEN 16

static int g_tok_idx = -1;
static pthread_once_t g_tok_once = PTHREAD_ONCE_INIT;

static void tok_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    OPENSSL_free(ptr);
}

static void tok_init(void)
{
    g_tok_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, tok_free);
}

/* A ticket is being made for s's session: put the connection's token in it. */
static int ticket_gen(SSL *s, void *arg)
{
    (void)arg;
    unsigned char *t = SSL_get_ex_data(s, g_tok_idx);
    if (!t) {
        t = OPENSSL_malloc(TOKEN_LEN);
        if (!t)
            return 0;
        void *old = NULL;
        size_t oldlen = 0;
        if (SSL_session_reused(s) &&
            SSL_SESSION_get0_ticket_appdata(SSL_get_session(s), &old, &oldlen) == 1 &&
            oldlen == TOKEN_LEN)
            memcpy(t, old, TOKEN_LEN);           /* a resumption inherits the token */
        else if (RAND_bytes(t, TOKEN_LEN) != 1) {
            OPENSSL_free(t);
            return 0;
        }
        if (SSL_set_ex_data(s, g_tok_idx, t) != 1) {
            OPENSSL_free(t);
            return 0;
        }
    }
    return SSL_SESSION_set1_ticket_appdata(SSL_get_session(s), t, TOKEN_LEN);
}

/* Decisions as OpenSSL makes them without a callback. */
static SSL_TICKET_RETURN ticket_dec(SSL *s, SSL_SESSION *ss, const unsigned char *kn,
                                    size_t knlen, SSL_TICKET_STATUS st, void *arg)
{
    (void)s, (void)ss, (void)kn, (void)knlen, (void)arg;
    switch (st) {
    case SSL_TICKET_SUCCESS:       return SSL_TICKET_RETURN_USE;
    case SSL_TICKET_SUCCESS_RENEW: return SSL_TICKET_RETURN_USE_RENEW;
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:    return SSL_TICKET_RETURN_IGNORE_RENEW;
    default:                       return SSL_TICKET_RETURN_IGNORE;
    }
}

size_t tls_session_token(SSL *ssl, unsigned char *out, size_t cap)
{
    pthread_once(&g_tok_once, tok_init);
    if (!ssl || cap < TLS_TOKEN_MAX)
        return 0;
    const unsigned char *t = SSL_get_ex_data(ssl, g_tok_idx);
    SSL_SESSION *sess = SSL_get_session(ssl);
    void *app = NULL;
    size_t applen = 0;
    if (!t && sess && SSL_SESSION_get0_ticket_appdata(sess, &app, &applen) == 1 &&
        applen == TOKEN_LEN)
        t = app;
    if (t) {
        out[0] = 'T';
        memcpy(out + 1, t, TOKEN_LEN);
        return 1 + TOKEN_LEN;
    }
    unsigned idlen = 0;
    const unsigned char *id = sess ? SSL_SESSION_get_id(sess, &idlen) : NULL;
    if (!id || idlen == 0 || idlen + 1 > cap)
        return 0;
    out[0] = 'I';
    memcpy(out + 1, id, idlen);
    return 1 + idlen;
}

bool tls_session_matches(SSL *ssl, const unsigned char *tok, size_t len)
{
    unsigned char mine[TLS_TOKEN_MAX];
    size_t n = tls_session_token(ssl, mine, sizeof mine);
    return len > 0 && n == len && memcmp(mine, tok, len) == 0;
}

static SSL_CTX *build_ctx(const char *cert, const char *key, bool min13, char *err, size_t errlen)
{
    char e[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create TLS context: %s", tls_error(e, sizeof e));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, min13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    /* Idle sessions give their read/write buffers back (tens of KiB each). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    static const unsigned char sid[] = "outpost";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    /* Tickets carry the session's token (tls_session_token). */
    pthread_once(&g_tok_once, tok_init);
    SSL_CTX_set_session_ticket_cb(ctx, ticket_gen, ticket_dec, NULL);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        snprintf(err, errlen, "cannot load certificate %s: %s", cert, tls_error(e, sizeof e));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "cannot load key %s: %s", key, tls_error(e, sizeof e));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "key %s does not match certificate %s", key, cert);
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

int tls_check(const char *cert, const char *key, char *err, size_t errlen)
{
    SSL_CTX *ctx = build_ctx(cert, key, false, err, errlen);
    if (!ctx)
        return OP_E_TLS;
    SSL_CTX_free(ctx);
    return 0;
}

int tls_reload(const char *cert, const char *key, bool min13, char *err, size_t errlen)
{
    SSL_CTX *ctx = build_ctx(cert, key, min13, err, errlen);
    if (!ctx)
        return OP_E_TLS;
    pthread_mutex_lock(&g_mu);
    SSL_CTX *old = g_ctx;
    g_ctx = ctx;
    pthread_mutex_unlock(&g_mu);
    SSL_CTX_free(old);                   /* live SSLs hold their own reference */
    return 0;
}

SSL *tls_new_server(int fd)
{
    pthread_mutex_lock(&g_mu);
    SSL *ssl = g_ctx ? SSL_new(g_ctx) : NULL;
    pthread_mutex_unlock(&g_mu);
    if (!ssl)
        return NULL;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

bool tls_available(void)
{
    pthread_mutex_lock(&g_mu);
    bool ok = g_ctx != NULL;
    pthread_mutex_unlock(&g_mu);
    return ok;
}

void tls_shutdown(void)
{
    pthread_mutex_lock(&g_mu);
    SSL_CTX_free(g_ctx);
    g_ctx = NULL;
    pthread_mutex_unlock(&g_mu);
}

static int add_san(X509 *x, const char *cn)
{
    char san[600];
    snprintf(san, sizeof san, "DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", cn);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

int tls_make_selfsigned(const char *certpath, const char *keypath, const char *cn,
                        char *err, size_t errlen)
{
    char e[256];
    int rc = OP_E_TLS;
    X509 *x = NULL;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!pkey) {
        snprintf(err, errlen, "key generation failed: %s", tls_error(e, sizeof e));
        return OP_E_TLS;
    }
    x = X509_new();
    unsigned char serial[16];
    if (!x || RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f;                   /* a positive serial number (RFC 5280 4.1.2.2) */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    ASN1_INTEGER *sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    if (!sn || X509_set_serialNumber(x, sn) != 1) {
        ASN1_INTEGER_free(sn);
        goto fail;
    }
    ASN1_INTEGER_free(sn);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"outpost self-signed",
                               -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (X509_set_pubkey(x, pkey) != 1 || add_san(x, cn) < 0 || X509_sign(x, pkey, EVP_sha256()) == 0)
        goto fail;

    /* The key is created 0600 from the start, never world-readable. */
    int kfd = open(keypath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (kfd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", keypath, strerror(errno));
        goto out;
    }
    FILE *kf = fdopen(kfd, "w");
    if (!kf) {
        close(kfd);
        goto fail;
    }
    int ok = PEM_write_PrivateKey(kf, pkey, NULL, NULL, 0, NULL, NULL);
    ok = (fflush(kf) == 0 && fsync(fileno(kf)) == 0) && ok;
    fclose(kf);
    if (!ok)
        goto fail;
    FILE *cf = fopen(certpath, "w");
    if (!cf) {
        snprintf(err, errlen, "cannot write %s: %s", certpath, strerror(errno));
        goto out;
    }
    ok = PEM_write_X509(cf, x);
    ok = (fflush(cf) == 0 && fsync(fileno(cf)) == 0) && ok;
    fclose(cf);
    if (!ok)
        goto fail;
    rc = 0;
    goto out;
fail:
    snprintf(err, errlen, "certificate generation failed: %s", tls_error(e, sizeof e));
out:
    X509_free(x);
    EVP_PKEY_free(pkey);
    return rc;
}
