/*
 * main.c - the outpost command: one program, one subcommand per job.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define OUTPOST_VERSION "0.1.0"

static const char usage[] =
    "outpost " OUTPOST_VERSION " - a domain's Internet services in one program\n"
    "\n"
    "usage: outpost COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  serve     run the services (with no config: the embedded default in ./var)\n"
    "  user      add, delete, list accounts and change passwords\n"
    "  deliver   deliver a message from standard input into a mailbox\n"
    "  queue     list, flush or delete messages waiting for other domains\n"
    "  check     validate the configuration and the zone files\n"
    "  dns       DNS service commands: reload the zones of the running server\n"
    "  dig       ask a DNS server a question and print the answer as dig does\n"
    "  ftp       an FTP client: interactive, or get/put/ls of ftp:// URLs\n"
    "  version   print the version\n"
    "\n"
    "Every command but dig and ftp takes -c FILE (a config file) or --data DIR (a\n"
    "data directory, default ./var); 'outpost COMMAND --help' says more.\n";

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
    {"serve", cmd_serve},
    {"user", cmd_user},
    {"deliver", cmd_deliver},
    {"queue", cmd_queue},
    {"check", cmd_check},
    {"dig", cmd_dig},
    {"dns", cmd_dns},
    {"ftp", cmd_ftp},
};

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE_ : 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("outpost %s\n", OUTPOST_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "outpost: unknown command '%s'\n\n%s", argv[1], usage);
    return EX_USAGE_;
}
