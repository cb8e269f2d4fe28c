/* The SMTP client's dialogue against a scripted server on a loopback
 * socket: timeouts, cancellation, and the reply paths of a transaction that
 * the interop tests' real servers do not take (every RCPT refused but DATA
 * accepted, MAIL refused without pipelining, a server that vanishes). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtp/client.h"
#include "test.h"

struct script {
    const char *greeting;       /* NULL: stay silent */
    const char *ehlo;           /* the whole EHLO reply */
    const char *mail;
    const char *rcpt[4];        /* replies to the RCPTs in order */
    const char *data;
    const char *end;            /* reply to the final dot; NULL: close instead */
    bool close_after_rcpt;
    bool close_after_end;       /* leave once the first message is taken */
    /* filled in */
    int lfd;
    struct sockaddr_in addr;
    char got[8192];
    size_t gotlen;
    pthread_t th;
    /* the client's side, filled in by dial() */
    struct smtp_client *c;
    int code;
    char diag[200];
};

static bool readline(int fd, char *out, size_t cap, struct script *s)
{
    size_t n = 0;
    while (n + 1 < cap) {
        char c;
        if (recv(fd, &c, 1, 0) != 1)
            return false;
        if (s->gotlen + 1 < sizeof s->got)
            s->got[s->gotlen++] = c;
        out[n++] = c;
        if (c == '\n')
            break;
    }
    out[n] = '\0';
    return true;
}

static void say(int fd, const char *s)
{
    if (s && send(fd, s, strlen(s), MSG_NOSIGNAL) < 0)
        return;
}

static void *serve(void *arg)
{
    struct script *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    if (!s->greeting) {
        char c;
        (void)!recv(fd, &c, 1, 0);         /* until the client goes */
        close(fd);
        return NULL;
    }
    say(fd, s->greeting);
    char line[1024];
    int nrcpt = 0;
    bool in_data = false;
    while (readline(fd, line, sizeof line, s)) {
        if (in_data) {
            if (strcmp(line, ".\r\n") == 0) {
                in_data = false;
                if (!s->end)
                    break;
                say(fd, s->end);
                if (s->close_after_end)
                    break;
            }
            continue;
        }
        if (!strncmp(line, "EHLO", 4))
            say(fd, s->ehlo);
        else if (!strncmp(line, "MAIL", 4))
            say(fd, s->mail);
        else if (!strncmp(line, "RCPT", 4)) {
            say(fd, s->rcpt[nrcpt < 4 ? nrcpt : 3]);
            nrcpt++;
            if (s->close_after_rcpt)
                break;
        } else if (!strncmp(line, "DATA", 4)) {
            say(fd, s->data);
            in_data = s->data && !strncmp(s->data, "354", 3);
        } else if (!strncmp(line, "QUIT", 4)) {
            say(fd, "221 bye\r\n");
            break;
        } else
            say(fd, "250 ok\r\n");
    }
    close(fd);
    return NULL;
}

static void start(struct script *s)
{
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    s->addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof s->addr;
    bind(s->lfd, (struct sockaddr *)&s->addr, len);
    getsockname(s->lfd, (struct sockaddr *)&s->addr, &len);
    listen(s->lfd, 4);
    pthread_create(&s->th, NULL, serve, s);
}

static void finish(struct script *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
    s->got[s->gotlen] = '\0';
}

static struct smtp_client_opts opts(unsigned ms, int cancel_fd)
{
    struct smtp_client_opts o = {.helo = "client.test", .peer_name = "peer.test",
                                 .cancel_fd = cancel_fd};
    smtp_timeouts_default(&o.t);
    smtp_timeouts_cap(&o.t, ms);
    return o;
}

/* Start s's peer and open a client to it, timeouts capped at ms; the
 * client, reply code and diagnostic land in s. */
static int dial(struct script *s, unsigned ms, int cancel_fd)
{
    start(s);
    struct smtp_client_opts o = opts(ms, cancel_fd);
    return smtp_client_open(&s->c, (struct sockaddr *)&s->addr, sizeof s->addr, &o, &s->code,
                            s->diag, sizeof s->diag);
}

/* A message file: "Subject: x\n\n.body\n" */
static int message_fd(uint64_t *len)
{
    char path[512];
    pathf(path, sizeof path, "%s/msg", test_tmpdir());
    FILE *f = fopen(path, "w");
    fputs("Subject: x\n\n.body\n", f);
    fclose(f);
    *len = 18;
    return open(path, 0);
}

TEST(smtp_dialogue_greeting_timeout)
{
    struct script s = {0};
    CHECK_INT(dial(&s, 300, -1), SMTP_OPEN_FAILED);
    CHECK(s.c == NULL);
    CHECK_INT(s.code, 0);
    CHECK_STR(s.diag, "greeting: timed out");
    finish(&s);
}

TEST(smtp_dialogue_cancelled)
{
    struct script s = {0};
    int efd = eventfd(1, EFD_CLOEXEC);      /* already readable: stop at once */
    CHECK_INT(dial(&s, 60000, efd), SMTP_OPEN_FAILED);
    CHECK(strstr(s.diag, ": shutting down") != NULL);     /* at connect or greeting */
    close(efd);
    finish(&s);
}

TEST(smtp_dialogue_greeting_refused)
{
    struct script s = {.greeting = "554-no\r\n554 5.7.1 go away\r\n"};
    CHECK_INT(dial(&s, 2000, -1), SMTP_OPEN_FAILED);
    CHECK_INT(s.code, 554);
    CHECK_STR(s.diag, "greeting: 554 no 5.7.1 go away");
    finish(&s);
}

TEST(smtp_dialogue_pipelined_all_refused_but_data_accepted)
{
    /* RFC 2920 section 3.1: an empty message ends the data at once. */
    struct script s = {.greeting = "220 hi\r\n", .ehlo = "250-peer\r\n250 PIPELINING\r\n",
                       .mail = "250 ok\r\n", .rcpt = {"550 5.1.1 no\r\n", "450 4.2.0 later\r\n"},
                       .data = "354 go\r\n", .end = "554 5.5.1 no valid recipients\r\n"};
    REQUIRE(dial(&s, 2000, -1) == SMTP_OPEN_OK);
    CHECK(smtp_client_ext(s.c)->flags & SMTP_EXT_PIPELINING);
    uint64_t len;
    int fd = message_fd(&len);
    struct smtp_message m = {.sender = "a@x.test", .fd = fd, .len = len};
    struct smtp_rcpt rc[2] = {{.addr = "b@y.test", .orcpt = ""}, {.addr = "c@y.test", .orcpt = ""}};
    CHECK_INT(smtp_client_send(s.c, &m, rc, 2), 0);
    CHECK_INT(rc[0].code, 550);
    CHECK_INT(rc[1].code, 450);
    CHECK_STR(rc[0].diag, "550 5.1.1 no (in reply to RCPT TO)");
    CHECK(!rc[0].local);
    smtp_client_close(s.c);
    close(fd);
    finish(&s);
    /* The group went as one, and the data was only the dot. */
    CHECK(strstr(s.got, "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n"
                        "DATA\r\n.\r\nQUIT\r\n") != NULL);
}

TEST(smtp_dialogue_mail_refused_without_pipelining)
{
    struct script s = {.greeting = "220 hi\r\n", .ehlo = "250 peer\r\n",
                       .mail = "451 4.3.0 busy\r\n"};
    REQUIRE(dial(&s, 2000, -1) == SMTP_OPEN_OK);
    uint64_t len;
    int fd = message_fd(&len);
    struct smtp_message m = {.sender = "", .fd = fd, .len = len};
    struct smtp_rcpt rc[2] = {{.addr = "b@y.test", .orcpt = ""}, {.addr = "c@y.test", .orcpt = ""}};
    CHECK_INT(smtp_client_send(s.c, &m, rc, 2), 0);
    CHECK_INT(rc[0].code, 451);
    CHECK_INT(rc[1].code, 451);
    CHECK_STR(rc[1].diag, "451 4.3.0 busy (in reply to MAIL FROM)");
    smtp_client_close(s.c);
    close(fd);
    finish(&s);
    /* The null sender; no RCPT after a refused MAIL; RSET then QUIT. */
    CHECK_STR(s.got, "EHLO client.test\r\nMAIL FROM:<>\r\nRSET\r\nQUIT\r\n");
}

TEST(smtp_dialogue_server_vanishes)
{
    struct script s = {.greeting = "220 hi\r\n", .ehlo = "250 peer\r\n", .mail = "250 ok\r\n",
                       .rcpt = {"250 ok\r\n"}, .close_after_rcpt = true};
    REQUIRE(dial(&s, 2000, -1) == SMTP_OPEN_OK);
    uint64_t len;
    int fd = message_fd(&len);
    struct smtp_message m = {.sender = "a@x.test", .fd = fd, .len = len};
    struct smtp_rcpt rc[2] = {{.addr = "b@y.test", .orcpt = ""}, {.addr = "c@y.test", .orcpt = ""}};
    CHECK(smtp_client_send(s.c, &m, rc, 2) < 0);
    /* Neither recipient's fate is known: both temporary (code 0). */
    CHECK_INT(rc[0].code, 0);
    CHECK_INT(rc[1].code, 0);
    CHECK(rc[0].local && rc[1].local);
    CHECK(strstr(rc[1].diag, "RCPT TO: ") == rc[1].diag);
    smtp_client_close(s.c);       /* no QUIT on a broken connection */
    close(fd);
    finish(&s);
}

TEST(smtp_dialogue_whole_transaction_stuffed)
{
    struct script s = {.greeting = "220 hi\r\n",
                       .ehlo = "250-peer\r\n250-SIZE 1000\r\n250 8BITMIME\r\n",
                       .mail = "250 ok\r\n", .rcpt = {"250 ok\r\n"}, .data = "354 go\r\n",
                       .end = "250 2.0.0 queued\r\n"};
    REQUIRE(dial(&s, 2000, -1) == SMTP_OPEN_OK);
    CHECK_INT(smtp_client_ext(s.c)->size_max, 1000);
    CHECK_STR(smtp_client_tls(s.c), "");
    uint64_t len;
    int fd = message_fd(&len);
    struct smtp_message m = {.sender = "a@x.test", .fd = fd, .len = len, .body_8bit = true};
    struct smtp_rcpt rc[1] = {{.addr = "b@y.test", .orcpt = "rfc822;b@y.test",
                               .notify = QUEUE_NOTIFY_FAILURE}};
    CHECK_INT(smtp_client_send(s.c, &m, rc, 1), 0);
    CHECK_INT(rc[0].code, 250);
    CHECK_STR(rc[0].diag, "250 2.0.0 queued (in reply to end of data)");
    smtp_client_close(s.c);
    close(fd);
    finish(&s);
    /* No DSN offered: no NOTIFY/ORCPT; SIZE and BODY declared. */
    CHECK(strstr(s.got, "MAIL FROM:<a@x.test> SIZE=18 BODY=8BITMIME\r\n"
                        "RCPT TO:<b@y.test>\r\nDATA\r\n"
                        "Subject: x\r\n\r\n..body\r\n.\r\nQUIT\r\n") != NULL);
}

/* RFC 5321 section 3.3: a kept connection carries the next message after
 * an RSET; a server that has gone makes the RSET fail. */
TEST(smtp_dialogue_second_message_after_reset)
{
    for (int gone = 0; gone <= 1; gone++) {
        struct script s = {.greeting = "220 hi\r\n", .ehlo = "250-peer\r\n250 PIPELINING\r\n",
                           .mail = "250 ok\r\n", .rcpt = {"250 ok\r\n", "250 ok\r\n"},
                           .data = "354 go\r\n", .end = "250 2.0.0 queued\r\n",
                           .close_after_end = gone};
        REQUIRE(dial(&s, 2000, -1) == SMTP_OPEN_OK);
        uint64_t len;
        int fd = message_fd(&len);
        struct smtp_message m = {.sender = "a@x.test", .fd = fd, .len = len};
        struct smtp_rcpt rc[1] = {{.addr = "b@y.test", .orcpt = ""}};
        CHECK_INT(smtp_client_send(s.c, &m, rc, 1), 0);
        CHECK_INT(rc[0].code, 250);
        if (gone) {
            CHECK(smtp_client_reset(s.c) < 0);
        } else {
            REQUIRE(smtp_client_reset(s.c) == 0);
            struct smtp_rcpt rc2[1] = {{.addr = "c@y.test", .orcpt = ""}};
            CHECK_INT(smtp_client_send(s.c, &m, rc2, 1), 0);
            CHECK_INT(rc2[0].code, 250);
        }
        smtp_client_close(s.c);
        close(fd);
        finish(&s);
        if (!gone)
            CHECK(strstr(s.got, "..body\r\n.\r\nRSET\r\nMAIL FROM:<a@x.test>\r\n"
                                "RCPT TO:<c@y.test>\r\nDATA\r\n") != NULL);
    }
}
