/* The real configuration schema: its defaults, the file written from it,
 * and docs/CONFIG.md documenting every key. */
#include <stdlib.h>
#include <sys/stat.h>

#include "base/fsutil.h"
#include "cli/settings.h"
#include "test.h"

TEST(settings_defaults_are_the_embedded_default)
{
    struct settings s;
    struct buf err = BUF_INIT;
    CHECK_INT(settings_load(&s, NULL, "/tmp/outpost-x", &err), 0);
    CHECK_STR(s.data_dir, "/tmp/outpost-x");
    CHECK_STR(s.cert_path, "/tmp/outpost-x/cert.pem");
    CHECK_INT(s.pop3_listen.n, 1);
    CHECK_INT(s.pop3_listen_tls.n, 1);
    CHECK_INT(s.pop3_idle_timeout, 600000);
    CHECK_INT(s.plaintext, PLAINTEXT_LOOPBACK);
    CHECK_STR(s.default_domain, "example.test");
    settings_free(&s);
    buf_free(&err);
}

TEST(settings_written_file_parses_back_without_errors)
{
    struct buf out = BUF_INIT, err = BUF_INIT;
    REQUIRE(settings_write_file(&out, NULL) == 0);
    const char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/outpost.conf", dir);
    REQUIRE(write_file_atomic(path, buf_ptr(&out), buf_len(&out), 0600) == 0);
    struct settings s;
    CHECK_INT(settings_load(&s, path, NULL, &err), 0);
    CHECK_STR(s.data_dir, dir);             /* data = . is the file's directory */
    settings_free(&s);
    buf_free(&out);
    buf_free(&err);
}

TEST(settings_errors_name_file_and_line)
{
    const char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/bad.conf", dir);
    static const char text[] = "[server]\nworkers = 2\n\n[pop3]\nlisten = nowhere\nbogus = 1\n";
    REQUIRE(write_file_atomic(path, text, sizeof text - 1, 0600) == 0);
    struct settings s;
    struct buf err = BUF_INIT;
    CHECK_INT(settings_load(&s, path, NULL, &err), 2);
    const char *e = buf_cstr(&err);
    char want[600];
    snprintf(want, sizeof want, "%s:5:", path);
    CHECK(strstr(e, want) != NULL);
    snprintf(want, sizeof want, "%s:6: unknown key 'bogus' in [pop3]", path);
    CHECK(strstr(e, want) != NULL);
    settings_free(&s);
    buf_free(&err);
}

/* The row "| `NAME` | DEFAULT |" of docs/CONFIG.md's tables for one key:
 * present, and its default column the schema's (in backquotes, or starting
 * with "(" when the schema's default is empty: "(empty)", "(required)"). */
static void check_doc_row(const char *text, const char *name, const char *dflt)
{
    char row[200];
    snprintf(row, sizeof row, "| `%s` | ", name);
    const char *at = strstr(text, row);
    if (!at) {
        fprintf(stderr, "    docs/CONFIG.md lacks a row for %s\n", name);
        CHECK(0);
        return;
    }
    at += strlen(row);
    char want[200];
    if (dflt && *dflt)
        snprintf(want, sizeof want, "`%s` |", dflt);
    else
        snprintf(want, sizeof want, "(");
    if (strncmp(at, want, strlen(want)) != 0) {
        fprintf(stderr, "    docs/CONFIG.md: %s has a default other than the schema's %s\n", name,
                dflt && *dflt ? dflt : "(empty)");
        CHECK(0);
    }
}

TEST(settings_every_key_is_documented_in_docs_config_md)
{
    struct buf doc = BUF_INIT;
    /* The unit tests run from the repository root. */
    REQUIRE(read_file("docs/CONFIG.md", &doc, 1 << 20) == 0);
    const char *text = buf_cstr(&doc);
    char name[160];
    for (size_t i = 0; i < settings_nkeys; i++) {
        snprintf(name, sizeof name, "[%s] %s", settings_schema[i].section, settings_schema[i].key);
        check_doc_row(text, name, settings_schema[i].dflt);
    }
    for (size_t g = 0; g < settings_ngroups; g++) {
        for (size_t i = 0; i < settings_groups[g].nkeys; i++) {
            snprintf(name, sizeof name, "[%s NAME] %s", settings_groups[g].kind,
                     settings_groups[g].keys[i].key);
            check_doc_row(text, name, settings_groups[g].keys[i].dflt);
        }
    }
    buf_free(&doc);
}

TEST(settings_zones_and_dns_keys)
{
    const char *dir = test_tmpdir();
    char path[512];
    pathf(path, sizeof path, "%s/zones.conf", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("[dns]\nlisten = 127.0.0.1:5353\nrrl_rate = 20\n"
          "[zone Example.TEST.]\nfile = zones/example.test.zone\n"
          "[zone other.test]\nfile = /abs/other.zone\nrole = primary\n", f);
    fclose(f);
    struct settings s;
    struct buf err = BUF_INIT;
    CHECK_INT(settings_load(&s, path, NULL, &err), 0);
    CHECK_INT(s.dns_rrl_rate, 20);
    CHECK_INT(s.dns_rrl_slip, 2);
    CHECK_INT(s.dns_udp_payload, 1232);
    REQUIRE(s.zones.n == 2);
    CHECK_STR(settings_zone_at(&s, 0)->name, "example.test");
    char want[600];
    pathf(want, sizeof want, "%s/zones/example.test.zone", dir);
    CHECK_STR(settings_zone_at(&s, 0)->file_path, want);
    CHECK_STR(settings_zone_at(&s, 1)->file_path, "/abs/other.zone");
    settings_free(&s);

    f = fopen(path, "w");
    REQUIRE(f);
    fputs("[zone example.test]\nfile = a\n[zone EXAMPLE.test.]\nfile = b\n"
          "[zone bad..name]\nfile = c\n[zone sec.test]\nfile = d\nrole = secondary\n"
          "[zone p.test]\nfile = e\nprimaries = 192.0.2.1\n"
          "[zone s2.test]\nfile = f\nrole = secondary\nprimaries = 192.0.2.1:53 key\n", f);
    fclose(f);
    buf_clear(&err);
    CHECK_INT(settings_load(&s, path, NULL, &err), 5);
    const char *e = buf_cstr(&err);
    CHECK(strstr(e, "zones.conf:3: [zone EXAMPLE.test.] appears twice") != NULL);
    CHECK(strstr(e, "zones.conf:5: [zone bad..name] 'bad..name' is not a valid domain name") != NULL);
    CHECK(strstr(e, "zones.conf:7: [zone sec.test] primaries is required for role = secondary") != NULL);
    CHECK(strstr(e, "[zone p.test] primaries is only for role = secondary") != NULL);
    CHECK(strstr(e, "[zone s2.test] primaries: '192.0.2.1:53': expected") != NULL);
    settings_free(&s);
    buf_free(&err);
}

TEST(settings_keys_and_transfer_lists)
{
    const char *dir = test_tmpdir();
    char path[512];
    pathf(path, sizeof path, "%s/keys.conf", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("[key Xfr-Key.]\nalgorithm = hmac-sha512\nsecret = c2VjcmV0c2VjcmV0\n"
          "[zone example.test]\nfile = a\nallow_transfer = 127.0.0.1/32 key xfr-key, ::1\n"
          "notify = 127.0.0.2:5353 key XFR-KEY\n", f);
    fclose(f);
    chmod(path, 0600);
    struct settings s;
    struct buf err = BUF_INIT;
    CHECK_INT(settings_load(&s, path, NULL, &err), 0);
    REQUIRE(s.keys.n == 1);
    CHECK_STR(settings_key_at(&s, 0)->name, "xfr-key");
    CHECK_INT(settings_key_at(&s, 0)->algorithm, 2);
    CHECK_STR(settings_zone_at(&s, 0)->notify, "127.0.0.2:5353 key XFR-KEY");
    settings_free(&s);

    f = fopen(path, "w");
    REQUIRE(f);
    fputs("[key k1]\nsecret = not*base64\n[key k2]\nalgorithm = md5\nsecret = AAAA\n"
          "[key k3]\n"
          "[zone a.test]\nfile = a\nallow_transfer = 127.0.0.1/33\n"
          "[zone b.test]\nfile = b\nnotify = host\n"
          "[zone c.test]\nfile = c\nallow_transfer = ::1 key nokey\nnotify = ::1 key k9\n"
          "[zone d.test]\nfile = d\nrole = secondary\nprimaries = 127.0.0.1 key k8\n", f);
    fclose(f);
    chmod(path, 0600);
    buf_clear(&err);
    CHECK_INT(settings_load(&s, path, NULL, &err), 8);
    const char *e = buf_cstr(&err);
    CHECK(strstr(e, "keys.conf:1: [key k1] secret is not base64") != NULL);
    CHECK(strstr(e, "keys.conf:4: [key k2] algorithm") != NULL);
    CHECK(strstr(e, "keys.conf:6: [key k3] secret is required") != NULL);
    CHECK(strstr(e, "[zone a.test] allow_transfer: '127.0.0.1/33'") != NULL);
    CHECK(strstr(e, "[zone b.test] notify: 'host'") != NULL);
    CHECK(strstr(e, "[zone c.test] allow_transfer: no [key nokey] section") != NULL);
    CHECK(strstr(e, "[zone c.test] notify: no [key k9] section") != NULL);
    CHECK(strstr(e, "[zone d.test] primaries: no [key k8] section") != NULL);
    CHECK(strstr(e, "not*base64") == NULL);            /* secrets stay out of messages */
    settings_free(&s);
    buf_free(&err);
}
