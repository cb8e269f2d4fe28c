/* The [queue] section of the configuration: defaults and the checks made
 * at load time (resolver list, retry bounds). */
#include "base/fsutil.h"
#include "cli/settings.h"
#include "test.h"

/* Load text as a config file: the number of errors, their text in err. */
static int load(const char *text, struct settings *s, struct buf *err)
{
    const char *dir = test_tmpdir();
    char path[512];
    pathf(path, sizeof path, "%s/q.conf", dir);
    if (write_file_atomic(path, text, strlen(text), 0600) != 0)
        return -1;
    return settings_load(s, path, NULL, err);
}

TEST(settings_queue_defaults)
{
    struct settings s;
    struct buf err = BUF_INIT;
    CHECK_INT(settings_load(&s, NULL, "/tmp/outpost-x", &err), 0);
    CHECK_STR(s.queue_resolver, "");
    CHECK_INT(s.queue_smtp_port, 25);
    CHECK_INT(s.queue_runners, 4);
    CHECK_INT(s.queue_connect_timeout, 30000);
    CHECK_INT(s.queue_smtp_timeout, 0);
    CHECK_INT(s.queue_expiry, 5u * 86400000u);
    CHECK_INT(s.queue_retry_min, 300000);
    CHECK_INT(s.queue_retry_max, 3600000);
    CHECK_INT(s.queue_delay_warn, 4 * 3600000);
    settings_free(&s);
    buf_free(&err);
}

TEST(settings_queue_values)
{
    struct settings s;
    struct buf err = BUF_INIT;
    CHECK_INT(load("[queue]\nresolver = 127.0.0.1:5353, [::1]\nsmtp_port = 2525\n"
                   "smtp_timeout = 3s\nexpiry = 2h\nretry_min = 10s\nretry_max = 10s\n",
                   &s, &err), 0);
    CHECK_STR(s.queue_resolver, "127.0.0.1:5353, [::1]");
    CHECK_INT(s.queue_smtp_port, 2525);
    CHECK_INT(s.queue_smtp_timeout, 3000);
    CHECK_INT(s.queue_expiry, 7200000);
    settings_free(&s);
    buf_free(&err);
}

TEST(settings_queue_errors)
{
    static const struct { const char *text, *want; } cases[] = {
        {"[queue]\nresolver = nowhere\n", "[queue] resolver:"},
        {"[queue]\nresolver = 127.0.0.1 key k\n", "[queue] resolver: no keys here"},
        {"[queue]\nresolver = 127.0.0.1, 127.0.0.2, 127.0.0.3, 127.0.0.4\n",
         "[queue] resolver: at most 3 addresses"},
        {"[queue]\nretry_min = 2h\nretry_max = 1h\n", "retry_min is longer than retry_max"},
        {"[queue]\nsmtp_port = 0\n", "smtp_port"},
        {"[queue]\nrunners = 0\n", "runners"},
        {"[queue]\nexpiry = 10s\n", "expiry"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct settings s;
        struct buf err = BUF_INIT;
        CHECK(load(cases[i].text, &s, &err) > 0);
        const char *e = buf_cstr(&err);
        if (!e || !strstr(e, cases[i].want)) {
            fprintf(stderr, "    for %s    got: %s\n", cases[i].text, e ? e : "(none)");
            CHECK(0);
        }
        settings_free(&s);
        buf_free(&err);
    }
}
