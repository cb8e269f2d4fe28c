/*
 * cli.h - what the subcommands share: the -c/--data options, loading the
 * settings the same way everywhere, and the exit codes.
 *
 * Where the configuration comes from, for every subcommand:
 *   -c FILE          that file (its [server] data names the data directory,
 *                    unless --data is also given)
 *   --data DIR       DIR/outpost.conf if it exists, else the built-in
 *                    defaults with DIR as the data directory
 *   neither          as --data ./var
 */
#ifndef OP_CLI_CLI_H
#define OP_CLI_CLI_H

#include <stdbool.h>

#include "cli/settings.h"

/* sysexits(3) codes, used by deliver and for usage errors */
#define EX_OK_         0
#define EX_USAGE_      64
#define EX_NOUSER_     67
#define EX_UNAVAIL_    69
#define EX_SOFTWARE_   70
#define EX_TEMPFAIL_   75
#define EX_CONFIG_     78
/* configuration errors at start-up (the documented "exit 2") */
#define EXIT_BADCONF   2

#define DEFAULT_DATA_DIR "./var"
#define CONFIG_NAME      "outpost.conf"
/* In the data directory while 'outpost serve' runs: its process id. */
#define PID_FILE_NAME    "outpost.pid"

struct cli_opts {
    const char *config;       /* -c FILE */
    const char *data;         /* --data DIR */
    bool help;                /* -h / --help */
};

/* Take -c/--config, --data and -h/--help out of argv (argv keeps the rest,
 * argv[0] included); returns the new argc, or -1 after printing a usage
 * error. */
int cli_take_opts(int argc, char **argv, struct cli_opts *o);

/* The start every subcommand shares: take the options, answer --help with
 * usage on stdout, and check that between min_args and max_args arguments
 * remain (argv[0] counted). Returns -1 to go on (*argc updated), else the
 * exit status to return (0 after --help, EX_USAGE_ after a usage error). */
int cli_begin(int *argc, char **argv, struct cli_opts *o, const char *usage,
              int min_args, int max_args);

/* Load the settings as described above; errors are printed to stderr.
 * Returns 0, or EXIT_BADCONF. */
int cli_load_settings(const struct cli_opts *o, struct settings *s);

/* When running as root and [server] user names a user, become that user
 * (groups too) for good, so that every file made in the data directory
 * belongs to the user the server runs as: serve calls it once its ports are
 * open, user and deliver before they touch the data directory. 0, or -1
 * after printing why. */
int cli_become_user(const struct settings *s);

/* Read a password: prompted twice without echo on a terminal (confirm),
 * else the first line of stdin. 0, or -1 after printing why. */
int cli_read_password(char *out, size_t outlen, bool confirm);

int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_deliver(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_dns(int argc, char **argv);

/* Load every configured zone to check it; errors (file:line) go to stderr.
 * Returns the number of zones that failed. */
int cli_check_zones(const struct settings *s);

/* dig reads its own arguments (its -c is a class, as in BIND's dig) and
 * uses no configuration. */
int cmd_dig(int argc, char **argv);

/* ftp reads its own arguments (URLs, --tls, ...) and uses no configuration. */
int cmd_ftp(int argc, char **argv);

#endif
