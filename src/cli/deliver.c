/* outpost deliver ADDRESS < message - local delivery with sysexits codes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "cli/cli.h"
#include "mail/mstore.h"

static const char usage[] =
    "usage: outpost deliver ADDRESS [-c FILE | --data DIR] < message\n"
    "\n"
    "Delivers one message from standard input into the mailbox of ADDRESS,\n"
    "durably (it is on disk when this exits 0). The bytes are stored as\n"
    "they come. Exit status (sysexits): 0 delivered, 64 usage, 67 no such\n"
    "user, 69 message too big, 75 temporary failure (e.g. disk full: try\n"
    "again later), 78 configuration error.\n";

int cmd_deliver(int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_begin(&argc, argv, &o, usage, 2, 2);
    if (rc >= 0)
        return rc;
    char address[ADDRESS_MAX];
    if (address_normalize(argv[1], address, sizeof address) < 0) {
        fprintf(stderr, "outpost: deliver: '%s' is not a valid address\n", argv[1]);
        return EX_NOUSER_;
    }
    struct settings s;
    if (cli_load_settings(&o, &s) != 0)
        return EX_CONFIG_;
    if (cli_become_user(&s) < 0) {
        settings_free(&s);
        return EX_CONFIG_;
    }
    rc = EX_OK_;
    struct buf msg = BUF_INIT;
    struct accounts *acc = NULL;
    int r = read_fd(STDIN_FILENO, &msg, (size_t)s.max_message_size);
    if (r == -EFBIG) {
        fprintf(stderr, "outpost: deliver: message larger than %llu bytes refused\n",
                (unsigned long long)s.max_message_size);
        rc = EX_UNAVAIL_;
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, "outpost: deliver: cannot read the message: %s\n", op_strerror(r));
        rc = EX_TEMPFAIL_;
        goto out;
    }
    r = accounts_open(s.data_dir, &acc);
    if (r < 0) {
        fprintf(stderr, "outpost: deliver: cannot open the accounts: %s\n", op_strerror(r));
        rc = EX_TEMPFAIL_;
        goto out;
    }
    r = mstore_deliver(acc, s.data_dir, address, buf_ptr(&msg), buf_len(&msg));
    if (r == OP_E_NOTFOUND) {
        fprintf(stderr, "outpost: deliver: no such user %s\n", address);
        rc = EX_NOUSER_;
    } else if (r < 0) {
        fprintf(stderr, "outpost: deliver: to %s failed: %s\n", address, op_strerror(r));
        rc = EX_TEMPFAIL_;
    }
out:
    if (acc)
        accounts_close(acc);
    buf_free(&msg);
    settings_free(&s);
    return rc;
}
