/* Unit tests for mail/queue: durable submit (local Maildirs + queue),
 * failure leaving nothing, crash recovery (a child killed with SIGKILL at
 * varying moments), the runner's claim/result/release with retries,
 * expiry and notifications, and list/flush/delete with leases. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "mail/mstore.h"
#include "mail/qentry.h"
#include "mail/qstore.h"
#include "mail/queue.h"
#include "test.h"

#define LOCAL_DOMAIN "@local.test"

/* Local: anything @local.test except nobody@; "alias@" is bob. */
static int test_local_rcpt(void *arg, const char *addr, char account[ADDRESS_MAX])
{
    (void)arg;
    size_t n = strlen(addr), d = strlen(LOCAL_DOMAIN);
    if (n < d || strcmp(addr + n - d, LOCAL_DOMAIN) != 0)
        return 0;
    if (strncmp(addr, "nobody@", 7) == 0)
        return OP_E_NOTFOUND;
    snprintf(account, ADDRESS_MAX, "%s", strncmp(addr, "alias@", 6) == 0 ? "bob" LOCAL_DOMAIN : addr);
    return 1;
}

static struct queue_config test_cfg(const char *datadir)
{
    struct queue_config c = {
        .datadir = datadir, .hostname = "mx.local.test", .expiry_s = 5 * 86400,
        .delay_warn_s = 0, .retry_min_s = 60, .retry_max_s = 3600,
        .local_rcpt = test_local_rcpt,
    };
    return c;
}

static const char *start(void)
{
    static char dir[4096];
    pathf(dir, sizeof dir, "%s", test_tmpdir());
    struct queue_config c = test_cfg(dir);
    queue_shutdown();
    if (queue_init(&c) != 0)
        return NULL;
    return dir;
}

static struct queue_rcpt rcpt(const char *addr, bool local, unsigned notify)
{
    struct queue_rcpt r;
    memset(&r, 0, sizeof r);
    snprintf(r.addr, sizeof r.addr, "%s", addr);
    r.local = local;
    r.notify = notify;
    return r;
}

static int submit(const char *sender, const struct queue_rcpt *rc, size_t n, const char *msg,
                  char id[QUEUE_ID_MAX])
{
    struct queue_envelope env = {.sender = sender, .rcpts = rc, .nrcpts = n, .client = "[127.0.0.1]"};
    return queue_submit(&env, msg, strlen(msg), id);
}

/* Entries in dir (dot files included). */
static int count_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static int count_new(const char *datadir, const char *addr)
{
    char root[4096], path[4200];
    if (mstore_root(datadir, addr, root, sizeof root) < 0)
        return -1;
    pathf(path, sizeof path, "%s/new", root);
    return count_dir(path);
}

/* Concatenation of every file in addr's new/ into out. */
static void read_new(const char *datadir, const char *addr, struct buf *out)
{
    char root[4096], path[4200];
    mstore_root(datadir, addr, root, sizeof root);
    pathf(path, sizeof path, "%s/new", root);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char f[4600];
        pathf(f, sizeof f, "%s/%s", path, de->d_name);
        read_file(f, out, 1 << 24);
    }
    closedir(d);
}

static int count_queue(const char *datadir)
{
    char q[4200];
    pathf(q, sizeof q, "%s/queue", datadir);
    int n = 0;
    DIR *d = opendir(q);
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".env") || strstr(de->d_name, ".msg"))
            n++;
    closedir(d);
    return n;
}

static const char msg1[] = "Received: from x\r\nSubject: hi\r\n\r\nhello\r\n";

/* alice's msg1 for x@far.test and y@far.test, submitted and claimed at
 * now (its first attempt); NULL on failure. */
static struct queue_msg *claimed_two_remote(time_t now, char id[QUEUE_ID_MAX])
{
    struct queue_rcpt rc[] = {rcpt("x@far.test", false, 0), rcpt("y@far.test", false, 0)};
    struct queue_msg *m = NULL;
    unsigned w;
    if (submit("alice" LOCAL_DOMAIN, rc, 2, msg1, id) != 0 || queue_claim(now, &m, &w) != 1)
        return NULL;
    return m;
}

TEST(queue_submit_local_gets_return_path_once_per_mailbox)
{
    const char *dd = start();
    REQUIRE(dd);
    struct queue_rcpt rc[] = {rcpt("bob" LOCAL_DOMAIN, true, 0), rcpt("carol" LOCAL_DOMAIN, true, 0),
                              rcpt("bob" LOCAL_DOMAIN, true, 0)};
    char id[QUEUE_ID_MAX];
    CHECK_INT(submit("alice@far.test", rc, 3, msg1, id), 0);
    CHECK(qstore_valid_id(id));
    CHECK_INT(count_new(dd, "bob" LOCAL_DOMAIN), 1);
    CHECK_INT(count_new(dd, "carol" LOCAL_DOMAIN), 1);
    struct buf b = BUF_INIT;
    read_new(dd, "carol" LOCAL_DOMAIN, &b);
    CHECK_STR(buf_cstr(&b), "Return-Path: <alice@far.test>\r\nReceived: from x\r\nSubject: hi\r\n\r\nhello\r\n");
    buf_free(&b);
    /* Nothing queued, nothing left in tmp/. */
    CHECK_INT(count_queue(dd), 0);
    char root[4096], tmp[4200];
    mstore_root(dd, "bob" LOCAL_DOMAIN, root, sizeof root);
    pathf(tmp, sizeof tmp, "%s/tmp", root);
    CHECK_INT(count_dir(tmp), 0);
    queue_shutdown();
}

TEST(queue_submit_remote_is_a_durable_entry)
{
    const char *dd = start();
    REQUIRE(dd);
    struct queue_rcpt rc[] = {rcpt("x@far.test", false, 0), rcpt("bob" LOCAL_DOMAIN, true, 0),
                              rcpt("y@other.test", false, QUEUE_NOTIFY_FAILURE)};
    strcpy(rc[2].orcpt, "rfc822;Y@other.test");
    struct queue_envelope env = {.sender = "alice@far.test", .rcpts = rc, .nrcpts = 3,
                                 .envid = "env 1", .ret = QUEUE_RET_HDRS, .body_8bit = true,
                                 .client = "[192.0.2.1]"};
    char id[QUEUE_ID_MAX];
    CHECK_INT(queue_submit(&env, msg1, strlen(msg1), id), 0);
    CHECK_INT(count_new(dd, "bob" LOCAL_DOMAIN), 1);
    CHECK_INT(count_queue(dd), 2);
    struct qentry e;
    REQUIRE(qstore_read(dd, id, &e) == 0);
    CHECK_STR(e.sender, "alice@far.test");
    CHECK(e.has_envid);
    CHECK_STR(e.envid, "env 1");
    CHECK_INT(e.ret, QUEUE_RET_HDRS);
    CHECK(e.body_8bit);
    CHECK_INT(e.nrcpts, 2);                         /* the remote ones only */
    CHECK_STR(e.rcpts[0].s.r.addr, "x@far.test");
    CHECK_STR(e.rcpts[1].s.r.orcpt, "rfc822;Y@other.test");
    CHECK_INT(e.rcpts[1].s.r.notify, QUEUE_NOTIFY_FAILURE);
    CHECK_INT(e.rcpts[1].s.state, QUEUE_PENDING);
    qentry_free(&e);
    /* The body is the message exactly as given (no Return-Path). */
    char path[4200];
    qstore_path(path, sizeof path, dd, id, ".msg");
    struct buf b = BUF_INIT;
    REQUIRE(read_file(path, &b, 1 << 20) == 0);
    CHECK_STR(buf_cstr(&b), msg1);
    buf_free(&b);
    /* IDs differ from one message to the next. */
    char id2[QUEUE_ID_MAX];
    CHECK_INT(submit("", rc, 1, msg1, id2), 0);
    CHECK(strcmp(id, id2) != 0);
    queue_shutdown();
}

TEST(queue_submit_write_error_leaves_nothing)
{
    const char *dd = start();
    REQUIRE(dd);
    struct queue_rcpt rc[] = {rcpt("bob" LOCAL_DOMAIN, true, 0), rcpt("x@far.test", false, 0)};
    struct rlimit old, small;
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    small.rlim_cur = 8192;
    small.rlim_max = old.rlim_max;
    struct sigaction ign = {.sa_handler = SIG_IGN}, prev;
    sigemptyset(&ign.sa_mask);
    REQUIRE(sigaction(SIGXFSZ, &ign, &prev) == 0);
    size_t big = 100000;
    char *data = malloc(big + 1);
    REQUIRE(data);
    memset(data, 'y', big);
    data[big] = '\0';
    char id[QUEUE_ID_MAX];
    /* Local and remote, then remote alone. */
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    int r1 = submit("a@far.test", rc, 2, data, id);
    int r2 = submit("a@far.test", rc + 1, 1, data, id);
    setrlimit(RLIMIT_FSIZE, &old);
    sigaction(SIGXFSZ, &prev, NULL);
    free(data);
    CHECK_INT(r1, -EFBIG);
    CHECK_INT(r2, -EFBIG);
    CHECK_INT(count_new(dd, "bob" LOCAL_DOMAIN), 0);
    CHECK_INT(count_queue(dd), 0);
    queue_shutdown();
}

/* The second mailbox on a full file system of its own: the first one had
 * the message linked into new/ already, and must have it taken back. */
TEST(queue_submit_enospc_takes_back_published_copies)
{
    const char *dd = start();
    REQUIRE(dd);
    char root[4096];
    REQUIRE(mstore_root(dd, "carol" LOCAL_DOMAIN, root, sizeof root) == 0);
    REQUIRE(mkdir_p(root, 0700) == 0);
    if (mount("tmpfs", root, "tmpfs", 0, "size=64k") < 0) {
        printf("     (skipped: cannot mount a tmpfs: %s)\n", strerror(errno));
        queue_shutdown();
        return;
    }
    size_t big = 200000;
    char *data = malloc(big + 1);
    if (data) {
        memset(data, 'z', big);
        data[big] = '\0';
        struct queue_rcpt rc[] = {rcpt("bob" LOCAL_DOMAIN, true, 0), rcpt("carol" LOCAL_DOMAIN, true, 0),
                                  rcpt("x@far.test", false, 0)};
        char id[QUEUE_ID_MAX];
        CHECK_INT(submit("a@far.test", rc, 3, data, id), -ENOSPC);
        CHECK_INT(count_new(dd, "bob" LOCAL_DOMAIN), 0);
        CHECK_INT(count_new(dd, "carol" LOCAL_DOMAIN), 0);
        CHECK_INT(count_queue(dd), 0);
        char tmp[4200];
        pathf(tmp, sizeof tmp, "%s/tmp", root);
        CHECK_INT(count_dir(tmp), 0);
        free(data);
        /* A small one fits both. */
        CHECK_INT(submit("a@far.test", rc, 3, msg1, id), 0);
        CHECK_INT(count_new(dd, "bob" LOCAL_DOMAIN), 1);
        CHECK_INT(count_new(dd, "carol" LOCAL_DOMAIN), 1);
    }
    CHECK_INT(umount2(root, MNT_DETACH), 0);
    queue_shutdown();
}

TEST(queue_init_removes_leftovers_keeps_entries)
{
    const char *dd = start();
    REQUIRE(dd);
    struct queue_rcpt rc[] = {rcpt("x@far.test", false, 0)};
    char id[QUEUE_ID_MAX];
    REQUIRE(submit("a@far.test", rc, 1, msg1, id) == 0);
    char p[4200];
    /* An .msg without .env, an .env cut short, a rewrite's temp file, an
     * .env without .msg. */
    pathf(p, sizeof p, "%s/queue/0000000100000AAAAAA.msg", dd);
    CHECK_INT(write_file_atomic(p, "x", 1, 0600), 0);
    pathf(p, sizeof p, "%s/queue/0000000200000BBBBBB.env", dd);
    CHECK_INT(write_file_atomic(p, "outpost-queue 1\narrival 5\n", 26, 0600), 0);
    pathf(p, sizeof p, "%s/queue/0000000200000BBBBBB.msg", dd);
    CHECK_INT(write_file_atomic(p, "x", 1, 0600), 0);
    pathf(p, sizeof p, "%s/queue/%s.env.tmp.1234", dd, id);
    CHECK_INT(write_file_atomic(p, "x", 1, 0600), 0);
    char env[4200], envcopy[4200];
    qstore_path(env, sizeof env, dd, id, ".env");
    pathf(envcopy, sizeof envcopy, "%s/queue/0000000300000CCCCCC.env", dd);
    REQUIRE(link(env, envcopy) == 0);
    queue_shutdown();
    struct queue_config c = test_cfg(dd);
    REQUIRE(queue_init(&c) == 0);
    char q[4200];
    pathf(q, sizeof q, "%s/queue", dd);
    CHECK_INT(count_dir(q), 2);                     /* id.env and id.msg */
    struct queue_msg *m = NULL;
    unsigned w = 0;
    CHECK_INT(queue_claim(time(NULL), &m, &w), 1);
    if (m) {
        CHECK_STR(m->id, id);
        queue_rcpt_result(m, 0, QUEUE_DELIVERED, "250 ok", "mx.far.test");
        CHECK_INT(queue_release(m, time(NULL)), 0);
    }
    CHECK_INT(count_dir(q), 0);
    queue_shutdown();
}

/* ---- runner side ------------------------------------------------------- */

TEST(queue_claim_lease_and_retry_schedule)
{
    const char *dd = start();
    REQUIRE(dd);
    struct queue_rcpt rc[] = {rcpt("x@far.test", false, 0), rcpt("y@far.test", false, 0)};
    char id[QUEUE_ID_MAX];
    REQUIRE(submit("a@far.test", rc, 2, msg1, id) == 0);
    time_t now = time(NULL);
    struct queue_msg *m = NULL, *m2 = NULL;
    unsigned w = 0;
    REQUIRE(queue_claim(now, &m, &w) == 1);
    CHECK_STR(m->id, id);
    CHECK_INT(m->nrcpts, 2);
    CHECK_INT(m->attempts, 0);
    CHECK_INT(m->data_len, strlen(msg1));
    char body[256] = {0};
    CHECK_INT(pread(m->data_fd, body, sizeof body - 1, 0), (long)strlen(msg1));
    CHECK_STR(body, msg1);
    /* Leased: neither another claim nor the CLI's delete gets it. */
    CHECK_INT(queue_claim(now, &m2, &w), 0);
    CHECK_INT(queue_delete(dd, id), OP_E_LOCKED);
    queue_rcpt_result(m, 0, QUEUE_DELIVERED, "250 2.0.0 ok", "mx.far.test");
    queue_rcpt_result(m, 1, QUEUE_PENDING, "451 4.3.0 try later", "mx.far.test");
    REQUIRE(queue_release(m, now) == 0);
    /* Growing intervals: 60, 120, 240, ... up to 3600. */
    unsigned want[] = {60, 120, 240, 480, 960, 1920, 3600, 3600};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        struct qentry e;
        REQUIRE(qstore_read(dd, id, &e) == 0);
        CHECK_INT(e.next_attempt - now, want[k]);
        CHECK_INT(e.attempts, k + 1);
        CHECK_INT(e.rcpts[0].s.state, QUEUE_DELIVERED);
        CHECK_STR(e.rcpts[1].s.last_error, "451 4.3.0 try later");
        CHECK_STR(e.rcpts[1].remote_mta, "mx.far.test");
        qentry_free(&e);
        CHECK_INT(queue_claim(now + want[k] - 1, &m, &w), 0);
        CHECK_INT(w, 1);
        now += want[k];
        REQUIRE(queue_claim(now, &m, &w) == 1);
        /* Only the pending recipient is left to try. */
        CHECK_INT(m->rcpts[0].state, QUEUE_DELIVERED);
        CHECK_INT(m->rcpts[1].state, QUEUE_PENDING);
        queue_rcpt_result(m, 1, QUEUE_PENDING, "451 4.3.0 try later", "mx.far.test");
        REQUIRE(queue_release(m, now) == 0);
    }
    /* Delivered at last: the entry is gone, the sender hears nothing
     * (no NOTIFY=SUCCESS). */
    now += 3600;
    REQUIRE(queue_claim(now, &m, &w) == 1);
    queue_rcpt_result(m, 1, QUEUE_DELIVERED, "250 ok", "mx.far.test");
    CHECK_INT(queue_release(m, now), 0);
    CHECK_INT(count_queue(dd), 0);
    CHECK_INT(queue_claim(now, &m, &w), 0);
    CHECK(w > 3600);
    queue_shutdown();
}

/* A cut attempt: what it settled stays recorded, it is not counted, no
 * expiry report even past the expiry, and the message is due at once. */
TEST(queue_release_cut_is_not_an_attempt)
{
    const char *dd = start();
    REQUIRE(dd);
    char id[QUEUE_ID_MAX];
    time_t now = time(NULL);
    struct queue_msg *m = claimed_two_remote(now, id);
    REQUIRE(m != NULL);
    unsigned w;
    queue_rcpt_result(m, 0, QUEUE_PENDING, "451 4.3.0 try later", "mx.far.test");
    REQUIRE(queue_release(m, now) == 0);
    /* Past the expiry, an attempt delivers x and is cut before y. */
    time_t late = now + 6 * 86400;
    REQUIRE(queue_claim(late, &m, &w) == 1);
    queue_rcpt_result(m, 0, QUEUE_DELIVERED, "250 ok", "mx.far.test");
    REQUIRE(queue_release_cut(m, late) == 0);
    struct qentry e;
    REQUIRE(qstore_read(dd, id, &e) == 0);
    CHECK_INT(e.attempts, 1);
    CHECK(e.next_attempt <= late);                       /* due now */
    CHECK_INT(e.rcpts[0].s.state, QUEUE_DELIVERED);
    CHECK_INT(e.rcpts[1].s.state, QUEUE_PENDING);
    qentry_free(&e);
    CHECK(count_new(dd, "alice" LOCAL_DOMAIN) <= 0);     /* no report yet */
    /* Due at once; only y is left; a real attempt now expires it. */
    REQUIRE(queue_claim(late, &m, &w) == 1);
    CHECK_INT(m->rcpts[0].state, QUEUE_DELIVERED);
    CHECK_INT(m->rcpts[1].state, QUEUE_PENDING);
    queue_rcpt_result(m, 1, QUEUE_PENDING, "421 4.4.2 timeout", "mx.far.test");
    REQUIRE(queue_release(m, late) == 0);
    CHECK_INT(count_queue(dd), 0);
    CHECK_INT(count_new(dd, "alice" LOCAL_DOMAIN), 1);
    queue_shutdown();
}

/* The one notification in alice's mailbox, or "" . */
static void bounce_text(const char *dd, struct buf *b)
{
    read_new(dd, "alice" LOCAL_DOMAIN, b);
}

TEST(queue_permanent_failure_bounces_to_local_sender)
{
    const char *dd = start();
    REQUIRE(dd);
    struct queue_rcpt rc[] = {rcpt("x@far.test", false, 0), rcpt("y@far.test", false, QUEUE_NOTIFY_NEVER)};
    char id[QUEUE_ID_MAX];
    REQUIRE(submit("alice" LOCAL_DOMAIN, rc, 2, msg1, id) == 0);
    struct queue_msg *m;
    unsigned w;
    time_t now = time(NULL);
    REQUIRE(queue_claim(now, &m, &w) == 1);
    queue_rcpt_result(m, 0, QUEUE_FAILED, "550 5.1.1 <x@far.test>: no such user", "mx.far.test");
    queue_rcpt_result(m, 1, QUEUE_FAILED, "550 5.1.1 <y@far.test>: no such user", "mx.far.test");
    CHECK_INT(queue_release(m, now), 0);
    CHECK_INT(count_queue(dd), 0);
    CHECK_INT(count_new(dd, "alice" LOCAL_DOMAIN), 1);
    struct buf b = BUF_INIT;
    bounce_text(dd, &b);
    const char *t = buf_cstr(&b);
    CHECK(strstr(t, "Return-Path: <>\r\n") == t);       /* the null sender */
    CHECK(strstr(t, "From: Mail Delivery System <MAILER-DAEMON@mx.local.test>"));
    CHECK(strstr(t, "report-type=delivery-status"));
    CHECK(strstr(t, "Final-Recipient: rfc822; x@far.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                    "Remote-MTA: dns; mx.far.test\r\nDiagnostic-Code: smtp; 550 5.1.1 <x@far.test>: no such user\r\n"));
    CHECK(!strstr(t, "y@far.test"));                    /* NOTIFY=NEVER */
    CHECK(strstr(t, "Content-Type: message/rfc822\r\n"));
    CHECK(strstr(t, "The original message\r\n\r\nReceived: from x\r\nSubject: hi\r\n\r\nhello\r\n"));
    buf_free(&b);
    queue_shutdown();
}

/* The report cannot be submitted (the sender's mailbox is broken): the
 * delivery is recorded, the failed recipient stays pending, and the next
 * attempt sends the report. */
TEST(queue_report_failure_keeps_deliveries_retries_report)
{
    const char *dd = start();
    REQUIRE(dd);
    char box[4096];
    REQUIRE(mstore_root(dd, "alice" LOCAL_DOMAIN, box, sizeof box) == 0);
    char parent[4096];
    path_dirname(box, parent, sizeof parent);
    REQUIRE(mkdir_p(parent, 0700) == 0);
    REQUIRE(write_file_atomic(box, "not a mailbox", 13, 0600) == 0);
    char id[QUEUE_ID_MAX];
    time_t now = time(NULL);
    struct queue_msg *m = claimed_two_remote(now, id);
    REQUIRE(m != NULL);
    unsigned w;
    queue_rcpt_result(m, 0, QUEUE_DELIVERED, "250 ok", "mx.far.test");
    queue_rcpt_result(m, 1, QUEUE_FAILED, "550 5.1.1 no such user", "mx.far.test");
    CHECK_INT(queue_release(m, now), 0);
    struct qentry e;
    REQUIRE(qstore_read(dd, id, &e) == 0);
    CHECK_INT(e.rcpts[0].s.state, QUEUE_DELIVERED);
    CHECK_INT(e.rcpts[1].s.state, QUEUE_PENDING);
    CHECK_STR(e.rcpts[1].s.last_error, "550 5.1.1 no such user");
    CHECK(e.next_attempt >= now + 60);
    qentry_free(&e);
    REQUIRE(unlink(box) == 0);
    REQUIRE(queue_claim(now + 60, &m, &w) == 1);
    CHECK_INT(m->rcpts[0].state, QUEUE_DELIVERED);          /* not sent again */
    queue_rcpt_result(m, 1, QUEUE_FAILED, "550 5.1.1 no such user", "mx.far.test");
    CHECK_INT(queue_release(m, now + 60), 0);
    CHECK_INT(count_queue(dd), 0);
    CHECK_INT(count_new(dd, "alice" LOCAL_DOMAIN), 1);
    queue_shutdown();
}

TEST(queue_ret_hdrs_bounce_carries_the_header_only)
{
    const char *dd = start();
    REQUIRE(dd);
    struct queue_rcpt rc[] = {rcpt("x@far.test", false, QUEUE_NOTIFY_FAILURE)};
    struct queue_envelope env = {.sender = "alice" LOCAL_DOMAIN, .rcpts = rc, .nrcpts = 1,
                                 .ret = QUEUE_RET_HDRS};
    char id[QUEUE_ID_MAX];
    REQUIRE(queue_submit(&env, msg1, strlen(msg1), id) == 0);
    struct queue_msg *m;
    unsigned w;
    time_t now = time(NULL);
    REQUIRE(queue_claim(now, &m, &w) == 1);
    CHECK_INT(m->ret, QUEUE_RET_HDRS);
    queue_rcpt_result(m, 0, QUEUE_FAILED, "554 5.7.1 refused", "mx.far.test");
    CHECK_INT(queue_release(m, now), 0);
    struct buf b = BUF_INIT;
    bounce_text(dd, &b);
    CHECK(strstr(buf_cstr(&b), "Content-Type: text/rfc822-headers\r\n"));
    CHECK(strstr(buf_cstr(&b), "Subject: hi\r\n"));
    CHECK(!strstr(buf_cstr(&b), "hello"));
    CHECK(strstr(buf_cstr(&b), "Status: 5.7.1\r\n"));
    buf_free(&b);
    queue_shutdown();
}

TEST(queue_null_sender_is_never_bounced)
{
    const char *dd = start();
    REQUIRE(dd);
    struct queue_rcpt rc[] = {rcpt("x@far.test", false, QUEUE_NOTIFY_FAILURE)};
    char id[QUEUE_ID_MAX];
    REQUIRE(submit("", rc, 1, msg1, id) == 0);
    struct queue_msg *m;
    unsigned w;
    time_t now = time(NULL);
    REQUIRE(queue_claim(now, &m, &w) == 1);
    queue_rcpt_result(m, 0, QUEUE_FAILED, "550 5.1.1 no", "mx.far.test");
    CHECK_INT(queue_release(m, now), 0);
    CHECK_INT(count_queue(dd), 0);                       /* gone, no bounce queued */
    queue_shutdown();
}

TEST(queue_expiry_bounces_what_is_pending)
{
    const char *dd = start();
    REQUIRE(dd);
    char id[QUEUE_ID_MAX];
    time_t now = time(NULL);
    struct queue_msg *m = claimed_two_remote(now, id);
    REQUIRE(m != NULL);
    unsigned w;
    queue_rcpt_result(m, 0, QUEUE_DELIVERED, "250 ok", "mx.far.test");
    queue_rcpt_result(m, 1, QUEUE_PENDING, "421 4.4.2 timeout", "mx.far.test");
    REQUIRE(queue_release(m, now) == 0);
    /* Retries never go past the expiry; at the expiry the next claim's
     * release gives up. */
    time_t t = now;
    int rounds = 0;
    for (;;) {
        struct qentry e;
        if (qstore_read(dd, id, &e) != 0)
            break;
        t = (time_t)e.next_attempt;
        CHECK(t <= now + 5 * 86400);
        qentry_free(&e);
        REQUIRE(queue_claim(t, &m, &w) == 1);
        queue_rcpt_result(m, 1, QUEUE_PENDING, "421 4.4.2 timeout", "mx.far.test");
        REQUIRE(queue_release(m, t) == 0);
        REQUIRE(++rounds < 200);
    }
    CHECK_INT(t, now + 5 * 86400);
    CHECK_INT(count_new(dd, "alice" LOCAL_DOMAIN), 1);
    struct buf b = BUF_INIT;
    bounce_text(dd, &b);
    const char *s = buf_cstr(&b);
    CHECK(strstr(s, "Final-Recipient: rfc822; y@far.test\r\nAction: failed\r\nStatus: 4.4.7\r\n"));
    CHECK(!strstr(s, "x@far.test\r\nAction"));           /* delivered: not reported */
    buf_free(&b);
    queue_shutdown();
}

TEST(queue_notify_success_and_delay)
{
    const char *dd = start();
    REQUIRE(dd);
    struct queue_config c = test_cfg(dd);
    c.delay_warn_s = 3600;
    queue_shutdown();
    REQUIRE(queue_init(&c) == 0);
    /* A local NOTIFY=SUCCESS recipient: "delivered" at once. */
    struct queue_rcpt l[] = {rcpt("bob" LOCAL_DOMAIN, true, QUEUE_NOTIFY_SUCCESS)};
    strcpy(l[0].orcpt, "rfc822;Bob" LOCAL_DOMAIN);
    char id[QUEUE_ID_MAX];
    struct queue_envelope env = {.sender = "alice" LOCAL_DOMAIN, .rcpts = l, .nrcpts = 1, .envid = "E42"};
    REQUIRE(queue_submit(&env, msg1, strlen(msg1), id) == 0);
    struct buf b = BUF_INIT;
    bounce_text(dd, &b);
    CHECK(strstr(buf_cstr(&b), "Original-Envelope-Id: E42\r\n"));
    CHECK(strstr(buf_cstr(&b), "Original-Recipient: rfc822;Bob" LOCAL_DOMAIN "\r\n"
                               "Final-Recipient: rfc822; bob" LOCAL_DOMAIN "\r\nAction: delivered\r\nStatus: 2.0.0\r\n"));
    CHECK(strstr(buf_cstr(&b), "Content-Type: text/rfc822-headers\r\n"));
    CHECK(!strstr(buf_cstr(&b), "hello"));              /* headers only */
    buf_free(&b);
    CHECK_INT(count_new(dd, "alice" LOCAL_DOMAIN), 1);

    /* Remote DELAY: one "delayed" report after delay_warn_s, not two. */
    struct queue_rcpt r[] = {rcpt("x@far.test", false, QUEUE_NOTIFY_DELAY | QUEUE_NOTIFY_FAILURE),
                             rcpt("y@far.test", false, QUEUE_NOTIFY_SUCCESS)};
    REQUIRE(submit("alice" LOCAL_DOMAIN, r, 2, msg1, id) == 0);
    struct queue_msg *m;
    unsigned w;
    time_t now = time(NULL);
    REQUIRE(queue_claim(now, &m, &w) == 1);
    queue_rcpt_result(m, 0, QUEUE_PENDING, "450 4.2.0 busy", "mx.far.test");
    queue_rcpt_result(m, 1, QUEUE_DELIVERED, "250 2.0.0 ok", "mx.far.test");
    queue_rcpt_relayed(m, 1);                           /* a next hop without DSN */
    REQUIRE(queue_release(m, now) == 0);
    /* y: "relayed" */
    CHECK_INT(count_new(dd, "alice" LOCAL_DOMAIN), 2);
    for (int k = 0; k < 3; k++) {
        now += 3600;
        REQUIRE(queue_flush(dd, id) == 0);
        REQUIRE(queue_claim(now, &m, &w) == 1);
        queue_rcpt_result(m, 0, QUEUE_PENDING, "450 4.2.0 busy", "mx.far.test");
        REQUIRE(queue_release(m, now) == 0);
    }
    CHECK_INT(count_new(dd, "alice" LOCAL_DOMAIN), 3);
    b = (struct buf)BUF_INIT;
    bounce_text(dd, &b);
    CHECK(strstr(buf_cstr(&b), "Final-Recipient: rfc822; y@far.test\r\nAction: relayed\r\n"));
    CHECK(strstr(buf_cstr(&b), "Final-Recipient: rfc822; x@far.test\r\nAction: delayed\r\nStatus: 4.2.0\r\n"));
    CHECK(strstr(buf_cstr(&b), "Will-Retry-Until: "));
    buf_free(&b);

    /* A next hop with DSN took NOTIFY=SUCCESS: it reports, we do not. */
    struct queue_rcpt z[] = {rcpt("z@far.test", false, QUEUE_NOTIFY_SUCCESS)};
    REQUIRE(submit("alice" LOCAL_DOMAIN, z, 1, msg1, id) == 0);
    REQUIRE(queue_claim(now, &m, &w) == 1);
    CHECK_STR(m->id, id);
    queue_rcpt_result(m, 0, QUEUE_DELIVERED, "250 2.0.0 ok", "mx.far.test");
    REQUIRE(queue_release(m, now) == 0);
    CHECK_INT(count_new(dd, "alice" LOCAL_DOMAIN), 3);
    queue_shutdown();
}

/* ---- list, flush, delete ------------------------------------------------ */

struct seen {
    int n;
    char ids[8][QUEUE_ID_MAX];
    bool active[8];
    char err[8][QUEUE_ERR_MAX];
    size_t nrcpts[8];
};

static void on_info(void *arg, const struct queue_info *qi)
{
    struct seen *s = arg;
    if (s->n >= 8)
        return;
    snprintf(s->ids[s->n], QUEUE_ID_MAX, "%s", qi->id);
    s->active[s->n] = qi->active;
    s->nrcpts[s->n] = qi->nrcpts;
    snprintf(s->err[s->n], QUEUE_ERR_MAX, "%s", qi->nrcpts ? qi->rcpts[0].last_error : "");
    s->n++;
}

TEST(queue_list_flush_delete)
{
    const char *dd = start();
    REQUIRE(dd);
    struct queue_rcpt rc[] = {rcpt("x@far.test", false, 0), rcpt("y@far.test", false, 0)};
    char a[QUEUE_ID_MAX], b[QUEUE_ID_MAX];
    REQUIRE(submit("s@far.test", rc, 2, msg1, a) == 0);
    usleep(2000);
    REQUIRE(submit("s@far.test", rc, 1, msg1, b) == 0);
    time_t now = time(NULL);
    struct queue_msg *m;
    unsigned w;
    REQUIRE(queue_claim(now, &m, &w) == 1);
    CHECK_STR(m->id, a);                                 /* oldest first */
    queue_rcpt_result(m, 0, QUEUE_DELIVERED, "250 ok", "mx");
    queue_rcpt_result(m, 1, QUEUE_PENDING, "451 later", "mx");
    REQUIRE(queue_release(m, now) == 0);
    REQUIRE(queue_claim(now, &m, &w) == 1);
    CHECK_STR(m->id, b);
    struct seen s = {0};
    CHECK_INT(queue_list(dd, on_info, &s), 2);
    CHECK_STR(s.ids[0], a);
    CHECK_STR(s.ids[1], b);
    CHECK(!s.active[0]);
    CHECK(s.active[1]);                                  /* b is being delivered */
    CHECK_INT(s.nrcpts[0], 1);                           /* delivered ones are not listed */
    CHECK_STR(s.err[0], "451 later");
    CHECK_INT(queue_delete(dd, b), OP_E_LOCKED);
    queue_rcpt_result(m, 0, QUEUE_PENDING, "451 later", "mx");
    REQUIRE(queue_release(m, now) == 0);
    /* Not due; flush makes one (or all) due now and the server sees it. */
    CHECK_INT(queue_claim(now, &m, &w), 0);
    CHECK_INT(queue_flush(dd, "0123456789ABCDEF0"), OP_E_NOTFOUND);
    CHECK_INT(queue_flush(dd, "../../etc"), OP_E_NOTFOUND);
    CHECK_INT(queue_flush(dd, b), 0);
    REQUIRE(queue_claim(now, &m, &w) == 1);
    CHECK_STR(m->id, b);
    queue_rcpt_result(m, 0, QUEUE_PENDING, "451 later", "mx");
    REQUIRE(queue_release(m, now) == 0);
    CHECK_INT(queue_flush(dd, NULL), 0);
    struct queue_msg *m1, *m2;
    REQUIRE(queue_claim(now, &m1, &w) == 1);
    REQUIRE(queue_claim(now, &m2, &w) == 1);
    CHECK_INT(queue_claim(now, &m, &w), 0);
    REQUIRE(queue_release(m1, now) == 0);                /* no result: stays pending */
    REQUIRE(queue_release(m2, now) == 0);
    /* Delete: gone from disk, and the server forgets it. */
    CHECK_INT(queue_delete(dd, a), 0);
    CHECK_INT(queue_delete(dd, a), OP_E_NOTFOUND);
    CHECK_INT(queue_flush(dd, NULL), 0);
    REQUIRE(queue_claim(now, &m, &w) == 1);
    CHECK_STR(m->id, b);
    REQUIRE(queue_release(m, now) == 0);
    s.n = 0;
    CHECK_INT(queue_list(dd, on_info, &s), 1);
    queue_shutdown();
}

/* ---- crash recovery ----------------------------------------------------- */

/* A child submits numbered messages (local + remote) and writes each ID it
 * got 0 for to a pipe; it is killed with SIGKILL after a varying delay. Then
 * queue_init() in the parent must find: each acknowledged message exactly
 * once in each local mailbox and queued for its remote recipient; no
 * message twice anywhere; no leftovers in queue/. */
TEST(queue_crash_at_any_moment_keeps_the_promise)
{
    const char *dd = start();
    REQUIRE(dd);
    queue_shutdown();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", dd);
    struct queue_config c = test_cfg(dir);
    int acked_total = 0;
    for (int trial = 0; trial < 12; trial++) {
        int fds[2];
        REQUIRE(pipe(fds) == 0);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            if (queue_init(&c) != 0)
                _exit(2);
            struct queue_rcpt rc[] = {rcpt("bob" LOCAL_DOMAIN, true, 0), rcpt("carol" LOCAL_DOMAIN, true, 0),
                                      rcpt("x@far.test", false, 0)};
            for (int i = 0; i < 100000; i++) {
                char msg[128], id[QUEUE_ID_MAX];
                snprintf(msg, sizeof msg, "Subject: t%d-%d\r\n\r\nbody\r\n", trial, i);
                if (submit("a@far.test", rc, 3, msg, id) != 0)
                    _exit(3);
                char line[64];
                int n = snprintf(line, sizeof line, "%s %d\n", id, i);
                if (write(fds[1], line, (size_t)n) != n)
                    _exit(4);
            }
            _exit(0);
        }
        close(fds[1]);
        usleep(5000 + (useconds_t)trial * 40000);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        CHECK(WIFSIGNALED(st));
        struct buf acks = BUF_INIT;
        read_fd(fds[0], &acks, 1 << 24);
        close(fds[0]);

        REQUIRE(queue_init(&c) == 0);
        struct buf bob = BUF_INIT, carol = BUF_INIT;
        read_new(dir, "bob" LOCAL_DOMAIN, &bob);
        read_new(dir, "carol" LOCAL_DOMAIN, &carol);
        const char *p = buf_cstr(&acks);
        int acked = 0;
        while (*p) {
            char id[QUEUE_ID_MAX];
            int i, used;
            if (sscanf(p, "%31s %d\n%n", id, &i, &used) != 2)
                break;
            p += used;
            acked++;
            char subj[64];
            snprintf(subj, sizeof subj, "Subject: t%d-%d\r\n", trial, i);
            const char *f = strstr(buf_cstr(&bob), subj);
            CHECK(f && !strstr(f + 1, subj));
            f = strstr(buf_cstr(&carol), subj);
            CHECK(f && !strstr(f + 1, subj));
            struct qentry e;
            CHECK_INT(qstore_read(dir, id, &e), 0);
            qentry_free(&e);
        }
        acked_total += acked;
        /* No message twice, acknowledged or not. */
        for (int i = 0; i < 100000; i++) {
            char subj[64];
            snprintf(subj, sizeof subj, "Subject: t%d-%d\r\n", trial, i);
            const char *f = strstr(buf_cstr(&bob), subj);
            if (!f)
                break;
            CHECK(!strstr(f + 1, subj));
        }
        /* Every queue file is a complete entry's. */
        char q[4200];
        pathf(q, sizeof q, "%s/queue", dir);
        DIR *d = opendir(q);
        REQUIRE(d);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.' || strcmp(de->d_name, "flush") == 0)
                continue;
            CHECK(strstr(de->d_name, ".tmp") == NULL);
            char id[QUEUE_ID_MAX] = {0};
            snprintf(id, sizeof id, "%.*s", (int)strcspn(de->d_name, "."), de->d_name);
            struct qentry e;
            CHECK_INT(qstore_read(dir, id, &e), 0);
            qentry_free(&e);
        }
        closedir(d);
        buf_free(&bob);
        buf_free(&carol);
        buf_free(&acks);
        queue_shutdown();
    }
    printf("     (%d acknowledged messages checked over 12 kills)\n", acked_total);
    CHECK(acked_total > 0);
}

/* The runner's side killed mid-release: every entry file left is complete
 * (rewrites are atomic), an entry reported finished is gone, one reported
 * rescheduled kept its recorded delivery, and nothing else disappeared. */
TEST(queue_crash_during_release_keeps_entries_whole)
{
    const char *dd = start();
    REQUIRE(dd);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", dd);
    struct queue_config c = test_cfg(dir);
    c.expiry_s = 30 * 86400;
    queue_shutdown();
    REQUIRE(queue_init(&c) == 0);
    enum { N = 40 };
    char ids[N][QUEUE_ID_MAX];
    struct queue_rcpt rc[] = {rcpt("x@far.test", false, 0), rcpt("y@far.test", false, 0)};
    for (int i = 0; i < N; i++)
        REQUIRE(submit("s@far.test", rc, 2, msg1, ids[i]) == 0);
    queue_shutdown();
    int total = 0;
    for (int trial = 0; trial < 6; trial++) {
        int fds[2];
        REQUIRE(pipe(fds) == 0);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            if (queue_init(&c) != 0)
                _exit(2);
            time_t now = time(NULL) + 1;
            for (int k = 0; k < 100000; k++) {
                struct queue_msg *m;
                unsigned w;
                int r = queue_claim(now, &m, &w);
                if (r < 0)
                    _exit(3);
                if (r == 0) {
                    now += 4000;
                    continue;
                }
                /* First attempt: x delivered, y deferred; then y delivered. */
                bool last = m->attempts >= 1;
                char id[QUEUE_ID_MAX];
                snprintf(id, sizeof id, "%s", m->id);
                queue_rcpt_result(m, 0, QUEUE_DELIVERED, "250 ok", "mx");
                queue_rcpt_result(m, 1, last ? QUEUE_DELIVERED : QUEUE_PENDING, last ? "250 ok" : "451 later", "mx");
                if (queue_release(m, now) != 0)
                    _exit(4);
                char line[64];
                int n = snprintf(line, sizeof line, "%s %d\n", id, last ? 1 : 0);
                if (write(fds[1], line, (size_t)n) != n)
                    _exit(5);
            }
            _exit(0);
        }
        close(fds[1]);
        usleep(20000 + (useconds_t)trial * 60000);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        /* Killed, or done with every entry before the kill. */
        CHECK(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
        struct buf rep = BUF_INIT;
        read_fd(fds[0], &rep, 1 << 20);
        close(fds[0]);
        REQUIRE(queue_init(&c) == 0);
        const char *p = buf_cstr(&rep);
        char id[QUEUE_ID_MAX];
        int done, used;
        while (sscanf(p, "%31s %d\n%n", id, &done, &used) == 2) {
            p += used;
            total++;
            struct qentry e;
            int r = qstore_read(dir, id, &e);
            if (done) {
                CHECK_INT(r, OP_E_NOTFOUND);
            } else if (r == 0) {
                CHECK_INT(e.rcpts[0].s.state, QUEUE_DELIVERED);
                CHECK(e.attempts >= 1);
            } else {
                CHECK_INT(r, OP_E_NOTFOUND);    /* finished after its report line */
            }
            if (r == 0)
                qentry_free(&e);
        }
        /* Every message not reported finished is still there, whole. */
        int present = 0;
        for (int i = 0; i < N; i++) {
            struct qentry e;
            if (qstore_read(dir, ids[i], &e) == 0) {
                present++;
                qentry_free(&e);
                char msg[4200];
                struct stat sb;
                qstore_path(msg, sizeof msg, dir, ids[i], ".msg");
                CHECK(stat(msg, &sb) == 0);
            }
        }
        char q[4200];
        pathf(q, sizeof q, "%s/queue", dir);
        int files = count_dir(q);
        /* .env + .msg per entry, maybe the flush marker */
        CHECK(files == 2 * present || files == 2 * present + 1);
        buf_free(&rep);
        queue_shutdown();
    }
    printf("     (%d releases checked over 6 kills)\n", total);
    CHECK(total > 0);
}
