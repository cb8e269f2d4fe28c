/*
 * tls.h - the server's TLS context (OpenSSL 3).
 *
 * One process-wide server context, built from the configured certificate
 * chain and key. tls_reload() builds a new one and swaps it in: sessions in
 * progress keep the context they started with (OpenSSL counts references),
 * new handshakes use the new one, so a certificate renewal drops nobody.
 */
#ifndef OP_NET_TLS_H
#define OP_NET_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

/* Load cert+key into a new server context and make it current.
 * min13: require TLS 1.3 (else 1.2 is the minimum). On error the previous
 * context stays; err gets a sentence. 0 or OP_E_TLS. */
int tls_reload(const char *cert, const char *key, bool min13, char *err, size_t errlen);

/* Check that cert and key load and match, without changing anything. */
int tls_check(const char *cert, const char *key, char *err, size_t errlen);

/* A new SSL for an accepted socket from the current context, or NULL when
 * no context is loaded. */
SSL *tls_new_server(int fd);

bool tls_available(void);
void tls_shutdown(void);

/* Write a self-signed certificate (EC P-256, 10 years) for host name cn, with
 * subjectAltName DNS:cn, DNS:localhost, IP:127.0.0.1, IP:::1; key mode 0600. */
int tls_make_selfsigned(const char *certpath, const char *keypath, const char *cn,
                        char *err, size_t errlen);

/* Session identity, for FTP's data connections, which must resume the
 * control connection's TLS session (RFC 4217 section 10; vsftpd's
 * require_ssl_reuse). Every session ticket the server context issues
 * carries a random token in its application data, shared by every ticket
 * of the connection and inherited by connections that resume one of them
 * (they are the same client: they hold the session's secret).
 * tls_session_token() writes ssl's token (or, when no ticket was issued,
 * its session ID, which TLS 1.2 resumption from the server's cache keeps)
 * to out (cap >= TLS_TOKEN_MAX) and returns its length, 0 if none.
 * tls_session_matches(): ssl's token equals tok[0..len). */
#define TLS_TOKEN_MAX 40
size_t tls_session_token(SSL *ssl, unsigned char *out, size_t cap);
bool   tls_session_matches(SSL *ssl, const unsigned char *tok, size_t len);

/* The last OpenSSL error as a sentence (clears the queue). */
const char *tls_error(char *buf, size_t len);

#endif
