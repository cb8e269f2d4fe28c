/* outpost queue list|flush|delete - inspect and drive the outgoing mail queue. */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "cli/cli.h"
#include "mail/queue.h"

static const char usage[] =
    "usage: outpost queue list          [-c FILE | --data DIR]\n"
    "       outpost queue flush [ID]    [-c FILE | --data DIR]\n"
    "       outpost queue delete ID     [-c FILE | --data DIR]\n"
    "\n"
    "The queue holds mail for other domains until their servers take it;\n"
    "safe to use while the server runs.\n"
    "list    one paragraph per message, oldest first: ID, age, size,\n"
    "        sender, next attempt, then each recipient still pending or\n"
    "        failed with its last error\n"
    "flush   make the message ID (every message without ID) due now; a\n"
    "        running server tries it within a second or two\n"
    "delete  remove the message ID without notifying its sender; refused\n"
    "        while it is being delivered\n"
    "Exit status: 0 done, 1 no such message, being delivered, or an error,\n"
    "64 usage.\n";

/* "3d4h", "2h13m", "5m7s", "42s" */
static void fmt_span(long long s, char *out, size_t n)
{
    if (s < 0)
        s = 0;
    if (s >= 86400)
        snprintf(out, n, "%lldd%lldh", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(out, n, "%lldh%lldm", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(out, n, "%lldm%llds", s / 60, s % 60);
    else
        snprintf(out, n, "%llds", s);
}

struct listing {
    time_t now;
    int count;
    uint64_t bytes;
};

static void print_one(void *arg, const struct queue_info *qi)
{
    struct listing *l = arg;
    char age[32], next[48];
    fmt_span((long long)(l->now - qi->arrival), age, sizeof age);
    if (qi->active)
        snprintf(next, sizeof next, "being delivered");
    else if (qi->next_attempt <= l->now)
        snprintf(next, sizeof next, "next attempt now");
    else {
        char in[32];
        fmt_span((long long)(qi->next_attempt - l->now), in, sizeof in);
        snprintf(next, sizeof next, "next attempt in %s", in);
    }
    printf("%s  age %s  %" PRIu64 " octets  from <%s>  %s  (%u attempt%s)\n", qi->id, age,
           qi->size, qi->sender, next, qi->attempts, qi->attempts == 1 ? "" : "s");
    for (size_t i = 0; i < qi->nrcpts; i++) {
        const struct queue_rcpt_status *r = &qi->rcpts[i];
        printf("    %-8s <%s>%s%s\n", r->state == QUEUE_FAILED ? "failed" : "pending", r->r.addr,
               r->last_error[0] ? "  " : "", r->last_error);
    }
    l->count++;
    l->bytes += qi->size;
}

static int do_list(const char *datadir)
{
    struct listing l = {.now = time(NULL)};
    int r = queue_list(datadir, print_one, &l);
    if (r < 0) {
        fprintf(stderr, "outpost: cannot read the queue: %s\n", op_strerror(r));
        return 1;
    }
    if (l.count == 0)
        printf("the queue is empty\n");
    else
        printf("-- %d message%s, %" PRIu64 " octets\n", l.count, l.count == 1 ? "" : "s", l.bytes);
    return 0;
}

static int do_flush(const char *datadir, const char *id)
{
    int r = queue_flush(datadir, id);
    if (r == OP_E_NOTFOUND) {
        fprintf(stderr, "outpost: no message %s in the queue\n", id ? id : "");
        return 1;
    }
    if (r < 0) {
        fprintf(stderr, "outpost: cannot flush the queue: %s\n", op_strerror(r));
        return 1;
    }
    if (id)
        printf("%s is due now\n", id);
    else
        printf("every queued message is due now\n");
    return 0;
}

static int do_delete(const char *datadir, const char *id)
{
    int r = queue_delete(datadir, id);
    if (r == OP_E_NOTFOUND) {
        fprintf(stderr, "outpost: no message %s in the queue\n", id);
        return 1;
    }
    if (r == OP_E_LOCKED) {
        fprintf(stderr, "outpost: %s is being delivered right now; try again in a moment\n", id);
        return 1;
    }
    if (r < 0) {
        fprintf(stderr, "outpost: cannot delete %s: %s\n", id, op_strerror(r));
        return 1;
    }
    printf("%s deleted\n", id);
    return 0;
}

int cmd_queue(int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_begin(&argc, argv, &o, usage, 2, 3);
    if (rc >= 0)
        return rc;
    const char *verb = argv[1], *id = NULL;
    /* IDs are upper-case hex; accept them typed in lower case. */
    char idbuf[QUEUE_ID_MAX] = "";
    if (argc == 3) {
        for (size_t i = 0; argv[2][i] && i + 1 < sizeof idbuf; i++)
            idbuf[i] = (char)toupper((unsigned char)argv[2][i]);
        id = strlen(argv[2]) < sizeof idbuf ? idbuf : argv[2];
    }
    bool ok = (strcmp(verb, "list") == 0 && !id) || strcmp(verb, "flush") == 0 ||
              (strcmp(verb, "delete") == 0 && id);
    if (!ok) {
        fputs(usage, stderr);
        return EX_USAGE_;
    }
    struct settings s;
    if (cli_load_settings(&o, &s) != 0)
        return EXIT_BADCONF;
    /* Files rewritten here must stay the server's. */
    if (cli_become_user(&s) < 0) {
        settings_free(&s);
        return 1;
    }
    if (verb[0] == 'l')
        rc = do_list(s.data_dir);
    else if (verb[0] == 'f')
        rc = do_flush(s.data_dir, id);
    else
        rc = do_delete(s.data_dir, id);
    settings_free(&s);
    return rc;
}
