/* outpost user add|del|passwd|list - manage the accounts mail and FTP share. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "auth/accounts.h"
#include "auth/passwd.h"
#include "base/err.h"
#include "cli/cli.h"
#include "mail/maildir.h"
#include "mail/mstore.h"

static const char usage[] =
    "usage: outpost user add ADDRESS      [-c FILE | --data DIR]\n"
    "       outpost user passwd ADDRESS   [-c FILE | --data DIR]\n"
    "       outpost user del ADDRESS      [-c FILE | --data DIR]\n"
    "       outpost user list             [-c FILE | --data DIR]\n"
    "\n"
    "Manages the accounts of the data directory; safe while the server runs.\n"
    "add and passwd read the password from the terminal (asked twice, not\n"
    "echoed) or from the first line of standard input. It is stored only as\n"
    "a yescrypt hash. del removes the account but leaves its mailbox on disk.\n";

static void print_one(void *arg, const char *address)
{
    (void)arg;
    printf("%s\n", address);
}

static int set_password(struct accounts *acc, const char *address, bool add)
{
    char pw[512], hash[PASSWD_HASH_MAX];
    if (cli_read_password(pw, sizeof pw, true) < 0)
        return 1;
    int r = passwd_hash(pw, hash, sizeof hash);
    explicit_bzero(pw, sizeof pw);
    if (r < 0) {
        fprintf(stderr, "outpost: cannot hash the password: %s\n", op_strerror(r));
        return 1;
    }
    r = add ? accounts_add(acc, address, hash) : accounts_set_hash(acc, address, hash);
    if (r == OP_E_EXISTS) {
        fprintf(stderr, "outpost: %s already exists\n", address);
        return 1;
    }
    if (r == OP_E_NOTFOUND) {
        fprintf(stderr, "outpost: no account %s\n", address);
        return 1;
    }
    if (r < 0) {
        fprintf(stderr, "outpost: cannot store the account: %s\n", op_strerror(r));
        return 1;
    }
    return 0;
}

int cmd_user(int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_begin(&argc, argv, &o, usage, 2, INT_MAX);
    if (rc >= 0)
        return rc;
    const char *verb = argv[1];
    bool needs_address = strcmp(verb, "list") != 0;
    if ((needs_address && argc != 3) || (!needs_address && argc != 2)) {
        fputs(usage, stderr);
        return EX_USAGE_;
    }
    char address[ADDRESS_MAX] = "";
    if (needs_address && address_normalize(argv[2], address, sizeof address) < 0) {
        fprintf(stderr, "outpost: '%s' is not a valid address (local@domain)\n", argv[2]);
        return EX_USAGE_;
    }
    struct settings s;
    if (cli_load_settings(&o, &s) != 0)
        return EXIT_BADCONF;
    if (cli_become_user(&s) < 0) {
        settings_free(&s);
        return 1;
    }
    struct accounts *acc;
    int r = accounts_open(s.data_dir, &acc);
    if (r < 0) {
        fprintf(stderr, "outpost: cannot open the accounts in %s: %s\n", s.data_dir, op_strerror(r));
        settings_free(&s);
        return 1;
    }
    rc = 0;
    if (strcmp(verb, "add") == 0) {
        rc = set_password(acc, address, true);
        char root[4200];
        if (rc == 0 && mstore_root(s.data_dir, address, root, sizeof root) == 0 &&
            (r = maildir_create(root)) < 0)
            fprintf(stderr, "outpost: warning: cannot create the mailbox %s: %s\n", root, op_strerror(r));
        if (rc == 0)
            printf("added %s\n", address);
    } else if (strcmp(verb, "passwd") == 0) {
        rc = set_password(acc, address, false);
        if (rc == 0)
            printf("changed the password of %s\n", address);
    } else if (strcmp(verb, "del") == 0) {
        r = accounts_del(acc, address);
        if (r == OP_E_NOTFOUND) {
            fprintf(stderr, "outpost: no account %s\n", address);
            rc = 1;
        } else if (r < 0) {
            fprintf(stderr, "outpost: cannot delete %s: %s\n", address, op_strerror(r));
            rc = 1;
        } else {
            char root[4200];
            if (mstore_root(s.data_dir, address, root, sizeof root) == 0)
                printf("deleted %s (its mailbox stays in %s)\n", address, root);
        }
    } else if (strcmp(verb, "list") == 0) {
        r = accounts_list(acc, print_one, NULL);
        if (r < 0) {
            fprintf(stderr, "outpost: cannot list accounts: %s\n", op_strerror(r));
            rc = 1;
        }
    } else {
        fputs(usage, stderr);
        rc = EX_USAGE_;
    }
    accounts_close(acc);
    settings_free(&s);
    return rc;
}
