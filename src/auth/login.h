/*
 * login.h - checking a login from a worker-pool thread.
 *
 * auth_login() opens (once per thread, closed when the thread ends) the
 * accounts database of datadir and checks the password in constant time.
 * It blocks for the length of a yescrypt hash: never call it on a loop
 * thread.
 */
#ifndef OP_AUTH_LOGIN_H
#define OP_AUTH_LOGIN_H

/* 0 if the password is right; OP_E_AUTH if not (or no such account);
 * another negative code when the accounts cannot be read. */
int auth_login(const char *datadir, const char *address, const char *password);

struct accounts;
/* The calling pool thread's own handle on datadir's accounts (opened on
 * first use, closed when the thread ends), for lookups other than logins
 * (an SMTP recipient check). NULL with *err set when it cannot be opened. */
struct accounts *auth_thread_accounts(const char *datadir, int *err);

#endif
