#include "cli/settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/util.h"
#include "auth/sasl.h"
#include "base/log.h"
#include "dns/acl.h"
#include "dns/name.h"

#define OFF(f) offsetof(struct settings, f)

static const char *const log_dests[] = {"stderr", "syslog", NULL};
static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const plaintext_choices[] = {"loopback", "tls", "always", NULL};
static const char *const tls_versions[] = {"1.2", "1.3", NULL};

#define DAY_MS 86400000ull

const struct cfg_key settings_schema[] = {
    {"server", "data", CFG_STR, OFF(data), ".", 0, 0, NULL,
     "Data directory: accounts database, mailboxes, certificates. A relative "
     "path is taken from the directory of this file. --data overrides it."},
    {"server", "user", CFG_STR, OFF(user), "", 0, 0, NULL,
     "When started as root, run as this user once the ports are open; "
     "'outpost user' and 'outpost deliver' run by root switch to it too, so "
     "everything in the data directory belongs to it. Empty: keep running as "
     "the user that started outpost."},
    {"server", "workers", CFG_UINT, OFF(workers), "0", 0, 256, NULL,
     "Event-loop threads; 0 means one per CPU core."},
    {"server", "log", CFG_ENUM, OFF(log), "stderr", 0, 0, log_dests,
     "Where log lines go: stderr or syslog (facility mail)."},
    {"server", "log_level", CFG_ENUM, OFF(log_level), "info", 0, 0, log_levels,
     "Least important messages logged: error, warning, info or debug."},
    {"server", "shutdown_grace", CFG_DURATION, OFF(shutdown_grace), "10s", 0, DAY_MS, NULL,
     "On SIGTERM, how long commands in progress may take to finish before "
     "their connections are closed."},
    {"server", "hostname", CFG_STR, OFF(hostname), "", 0, 0, NULL,
     "Host name used in greetings; empty means the system's host name."},

    {"tls", "cert", CFG_STR, OFF(cert), "cert.pem", 0, 0, NULL,
     "PEM certificate chain, leaf first. Relative to the data directory. "
     "Reloaded on SIGHUP. Needed only when a service speaking TLS (POP3, SMTP, FTP) is on."},
    {"tls", "key", CFG_STR, OFF(key), "key.pem", 0, 0, NULL,
     "PEM private key of the certificate. Relative to the data directory."},
    {"tls", "min_version", CFG_ENUM, OFF(tls_min), "1.2", 0, 0, tls_versions,
     "Oldest TLS version accepted: 1.2 or 1.3."},

    {"limits", "max_connections", CFG_UINT, OFF(max_connections), "10000", 1, 1000000, NULL,
     "Connections open at once over all services; beyond it new clients get "
     "the protocol's 'too busy' reply."},
    {"limits", "max_per_ip", CFG_UINT, OFF(max_per_ip), "100", 1, 1000000, NULL,
     "Connections open at once from one client address (IPv6: one /64)."},

    {"auth", "plaintext", CFG_ENUM, OFF(plaintext), "loopback", 0, 0, plaintext_choices,
     "When passwords may be sent: 'tls' only inside TLS, 'loopback' inside "
     "TLS or on loopback connections, 'always' (unsafe) on any connection."},

    {"mail", "default_domain", CFG_STR, OFF(default_domain), "example.test", 0, 0, NULL,
     "Domain added to a login name given without '@' (alice -> alice@DOMAIN)."},
    {"mail", "max_message_size", CFG_SIZE, OFF(max_message_size), "50M", 1024, 1ull << 32, NULL,
     "Largest message accepted for delivery."},

    {"pop3", "listen", CFG_ADDRS, OFF(pop3_listen), "127.0.0.1:10110", 0, 0, NULL,
     "Addresses for POP3 (RFC 1939) with STLS, comma separated, e.g. "
     "0.0.0.0:110, [::]:110. Empty: no plain POP3 listener."},
    {"pop3", "listen_tls", CFG_ADDRS, OFF(pop3_listen_tls), "127.0.0.1:10995", 0, 0, NULL,
     "Addresses for POP3 over implicit TLS (RFC 8314), e.g. 0.0.0.0:995. "
     "Empty: none."},
    {"pop3", "idle_timeout", CFG_DURATION, OFF(pop3_idle_timeout), "10m", 1000, DAY_MS, NULL,
     "A session idle this long is closed (RFC 1939 section 3 asks for at "
     "least 10 minutes)."},
    {"pop3", "command_timeout", CFG_DURATION, OFF(pop3_command_timeout), "1m", 1000, DAY_MS, NULL,
     "A command line (or TLS handshake) that has started must be complete "
     "within this time, however slowly its bytes trickle in; otherwise the "
     "session is closed."},

    {"smtp", "listen", CFG_ADDRS, OFF(smtp_listen), "127.0.0.1:10025", 0, 0, NULL,
     "Addresses for inbound SMTP (RFC 5321, the MX role: port 25), e.g. "
     "0.0.0.0:25, [::]:25. Mail only for the local domains, no AUTH, no "
     "relaying; STARTTLS offered. Empty: none."},
    {"smtp", "listen_submission", CFG_ADDRS, OFF(smtp_listen_submission), "127.0.0.1:10587", 0, 0, NULL,
     "Addresses for message submission (RFC 6409, port 587): STARTTLS, then "
     "AUTH before MAIL; authenticated users may send to any domain. Empty: none."},
    {"smtp", "listen_submissions", CFG_ADDRS, OFF(smtp_listen_submissions), "127.0.0.1:10465", 0, 0, NULL,
     "Addresses for submission over implicit TLS (RFC 8314, port 465). Empty: none."},
    {"smtp", "local_domains", CFG_STR, OFF(smtp_local_domains), "", 0, 0, NULL,
     "Domains whose mail is delivered here, comma separated. Empty: [mail] "
     "default_domain plus the domain of every existing account."},
    {"smtp", "aliases", CFG_STR, OFF(smtp_aliases), "", 0, 0, NULL,
     "Aliases of local accounts, comma separated: 'postmaster@example.test = "
     "alice@example.test, sales@example.test = bob@example.test'. An alias wins "
     "over an account of the same name."},
    {"smtp", "catch_all", CFG_STR, OFF(smtp_catch_all), "", 0, 0, NULL,
     "Per domain, the account that receives mail for unknown users there: "
     "'example.test = alice@example.test, ...'. A domain named here is local, "
     "as if listed in local_domains. Without one, unknown users are refused "
     "at RCPT (550 5.1.1)."},
    {"smtp", "max_recipients", CFG_UINT, OFF(smtp_max_recipients), "100", 1, 100000, NULL,
     "Recipients per message; beyond it RCPT gets 452 and the client sends "
     "the rest in another transaction (RFC 5321 section 4.5.3.1.8 asks for at "
     "least 100)."},
    {"smtp", "sender_login_check", CFG_BOOL, OFF(smtp_sender_login_check), "yes", 0, 0, NULL,
     "On submission, an authenticated user may use as MAIL FROM only an "
     "address of their own: their account, or an alias or catch-all that "
     "delivers to it (or the null sender <>); others get 553 5.7.1. 'no' "
     "lets any authenticated user send as anyone."},
    {"smtp", "idle_timeout", CFG_DURATION, OFF(smtp_idle_timeout), "5m", 1000, DAY_MS, NULL,
     "Waiting for the next command this long closes the session with 421 "
     "(RFC 5321 section 4.5.3.2.7: at least 5 minutes)."},
    {"smtp", "command_timeout", CFG_DURATION, OFF(smtp_command_timeout), "5m", 1000, DAY_MS, NULL,
     "A command line (or TLS handshake) that has started must be complete "
     "within this time, however slowly its bytes come."},
    {"smtp", "data_timeout", CFG_DURATION, OFF(smtp_data_timeout), "3m", 1000, DAY_MS, NULL,
     "During DATA or BDAT, the longest wait for more message data (RFC 5321 "
     "section 4.5.3.2.5: at least 3 minutes). A client that stops sending "
     "gets 421 and nothing of its message is delivered."},
    {"ftp", "listen", CFG_ADDRS, OFF(ftp_listen), "127.0.0.1:10021", 0, 0, NULL,
     "Addresses for the FTP control connection (RFC 959) with AUTH TLS (RFC "
     "4217), e.g. 0.0.0.0:21, [::]:21. Active-mode data connections come from "
     "the port below it when privileges allow. Empty: FTP off."},
    {"ftp", "pasv_min_port", CFG_UINT, OFF(ftp_pasv_min), "40000", 1024, 65535, NULL,
     "Lowest port of the passive data connection range (PASV, EPSV)."},
    {"ftp", "pasv_max_port", CFG_UINT, OFF(ftp_pasv_max), "40999", 1024, 65535, NULL,
     "Highest port of the passive range; open it in firewalls together with "
     "the control port."},
    {"ftp", "pasv_address", CFG_STR, OFF(ftp_pasv_address), "", 0, 0, NULL,
     "IPv4 address announced in PASV replies, for a server behind NAT. Empty: "
     "the address the client connected to."},
    {"ftp", "anonymous", CFG_BOOL, OFF(ftp_anonymous), "no", 0, 0, NULL,
     "Allow anonymous login (user anonymous or ftp, any password) to a "
     "read-only public area, DATA/ftp/public."},
    {"ftp", "quota", CFG_SIZE, OFF(ftp_quota), "0", 0, 1ull << 50, NULL,
     "Bytes each user may store in their FTP home; uploads beyond it fail with "
     "552. 0: no limit."},
    {"ftp", "rate_limit", CFG_SIZE, OFF(ftp_rate_limit), "0", 0, 1ull << 40, NULL,
     "Bandwidth limit per session in bytes per second, both directions. 0: "
     "none."},
    {"ftp", "idle_timeout", CFG_DURATION, OFF(ftp_idle_timeout), "5m", 1000, DAY_MS, NULL,
     "A control connection without a command for this long is closed (not "
     "while a transfer runs)."},
    {"ftp", "command_timeout", CFG_DURATION, OFF(ftp_command_timeout), "1m", 1000, DAY_MS, NULL,
     "A command line (or TLS handshake) that has started must be complete "
     "within this time."},
    {"ftp", "data_timeout", CFG_DURATION, OFF(ftp_data_timeout), "30s", 1000, DAY_MS, NULL,
     "How long to wait for the client's data connection (425 after it), and "
     "how long a transfer may make no progress before it is aborted (426)."},

    {"dns", "listen", CFG_ADDRS, OFF(dns_listen), "127.0.0.1:10053", 0, 0, NULL,
     "Addresses for the authoritative DNS service, UDP and TCP on each, e.g. "
     "0.0.0.0:53, [::]:53. Empty: DNS off."},
    {"dns", "udp_payload", CFG_UINT, OFF(dns_udp_payload), "1232", 512, 4096, NULL,
     "Largest UDP response (our EDNS payload size, RFC 6891). 1232 avoids IP "
     "fragmentation on any path; larger answers set TC and the client retries "
     "over TCP."},
    {"dns", "tcp_idle_timeout", CFG_DURATION, OFF(dns_tcp_idle_timeout), "10s", 1000, DAY_MS, NULL,
     "A DNS-over-TCP connection without a query for this long is closed, and a "
     "query that has started must be complete within it (RFC 7766 section 6.2.3)."},
    {"dns", "rrl_rate", CFG_UINT, OFF(dns_rrl_rate), "0", 0, 1000000, NULL,
     "Response-rate limiting over UDP: responses per second to one client "
     "network (IPv4 /24, IPv6 /56) of the same kind for the same name. 0 turns "
     "it off; a public server should set e.g. 20, so that it cannot be used to "
     "flood a forged source address. TCP is never limited."},
    {"dns", "rrl_slip", CFG_UINT, OFF(dns_rrl_slip), "2", 0, 10, NULL,
     "Of the responses rate limiting drops, every Nth is sent as a truncated "
     "empty reply (TC set) so that a real client retries over TCP. 0: drop them "
     "all; 1: truncate them all."},
    {"dns", "log_queries", CFG_BOOL, OFF(dns_log_queries), "no", 0, 0, NULL,
     "Log one line per DNS query (client, name, type, answer). Costly on a busy "
     "server."},

    {"queue", "resolver", CFG_STR, OFF(queue_resolver), "", 0, 0, NULL,
     "DNS resolvers asked for the MX and address records of recipient domains, "
     "as ADDR[:PORT], several separated by commas and tried in order (port 53 "
     "by default). Empty: the nameserver lines of /etc/resolv.conf."},
    {"queue", "smtp_port", CFG_UINT, OFF(queue_smtp_port), "25", 1, 65535, NULL,
     "The port of other domains' mail servers. 25 on the Internet (RFC 5321 "
     "section 4.5.4); another value only for tests and private networks."},
    {"queue", "runners", CFG_UINT, OFF(queue_runners), "4", 1, 64, NULL,
     "Messages delivered to other domains at the same time (threads)."},
    {"queue", "connect_timeout", CFG_DURATION, OFF(queue_connect_timeout), "30s", 100, 600000, NULL,
     "How long a connection to a remote mail server may take to open before "
     "the next address or host is tried."},
    {"queue", "smtp_timeout", CFG_DURATION, OFF(queue_smtp_timeout), "0", 0, 3600000, NULL,
     "When not 0, the longest wait for any reply of a remote server. 0: the "
     "times of RFC 5321 section 4.5.3.2 (5 minutes for the greeting, MAIL and "
     "RCPT, 2 for DATA, 3 per block of data, 10 for the end of data)."},
    {"queue", "expiry", CFG_DURATION, OFF(queue_expiry), "5d", 60000, 30 * DAY_MS, NULL,
     "A message not delivered after this long is returned to its sender "
     "(a delivery status notification, RFC 3464)."},
    {"queue", "retry_min", CFG_DURATION, OFF(queue_retry_min), "5m", 1000, DAY_MS, NULL,
     "The wait before the first retry after a temporary failure; each "
     "following wait doubles, up to retry_max."},
    {"queue", "retry_max", CFG_DURATION, OFF(queue_retry_max), "1h", 1000, DAY_MS, NULL,
     "The longest wait between two attempts at one message."},
    {"queue", "delay_warn", CFG_DURATION, OFF(queue_delay_warn), "4h", 0, 30 * DAY_MS, NULL,
     "After this long undelivered, senders who asked for it (NOTIFY=DELAY) are "
     "told that their message is delayed. 0: never."},
};
const size_t settings_nkeys = ARRAY_LEN(settings_schema);

/* ---- [zone NAME] ----------------------------------------------------------- */

#define ZOFF(f) offsetof(struct settings_zone, f)

static const char *const zone_roles[] = {"primary", "secondary", NULL};

static const struct cfg_key zone_keys[] = {
    {"zone", "file", CFG_STR, ZOFF(file), "", 0, 0, NULL,
     "The zone's master file (RFC 1035 section 5), relative to the data "
     "directory. Required. For a secondary, where the transferred zone is "
     "written (it need not exist at start)."},
    {"zone", "role", CFG_ENUM, ZOFF(role), "primary", 0, 0, zone_roles,
     "primary: the file is the zone's source. secondary: the zone is fetched "
     "from its primaries by zone transfer (IXFR, else AXFR) and kept up to "
     "date by the SOA refresh, retry and expire timers and by NOTIFY."},
    {"zone", "primaries", CFG_STR, ZOFF(primaries), "", 0, 0, NULL,
     "For role = secondary (required there): where to fetch the zone from and "
     "whose NOTIFY to accept, as ADDR[:PORT] [key NAME], several separated by "
     "commas and tried in order; the port defaults to 53. A key names a [key "
     "NAME] section."},
    {"zone", "allow_transfer", CFG_STR, ZOFF(allow_transfer), "", 0, 0, NULL,
     "Who may transfer the zone (AXFR, IXFR): a comma-separated list of "
     "'PREFIX [key NAME]' entries, e.g. '127.0.0.1/32 key xfr-key, ::1'. An "
     "entry with a key admits only requests signed (TSIG) with that key. "
     "Empty: nobody."},
    {"zone", "notify", CFG_STR, ZOFF(notify), "", 0, 0, NULL,
     "Secondary servers told by NOTIFY (RFC 1996) when the zone is loaded with "
     "a new serial: a comma-separated list of 'ADDR[:PORT] [key NAME]', e.g. "
     "'192.0.2.2:53 key xfr-key'. Empty: none."},
};

/* A zone's name must be a domain name; its canonical text (lower case,
 * without the final dot) is what duplicates are compared by. */
static int zone_check_name(const char *name, char *canon, size_t canonlen, char *err,
                           size_t errlen)
{
    struct dns_name n;
    if (dns_name_from_text(&n, name, strlen(name), NULL) < 0) {
        snprintf(err, errlen, "'%s' is not a valid domain name", name);
        return OP_E_SYNTAX;
    }
    dns_name_lower(&n);
    char text[DNS_NAME_MAXTEXT];
    int len = dns_name_to_text(&n, text, sizeof text);
    if (len < 0 || (size_t)len >= canonlen)
        return OP_E_TOOLONG;
    if (len > 1)
        text[len - 1] = '\0';           /* "example.com." -> "example.com" */
    str_copy(canon, canonlen, text);
    return 0;
}

static int zone_finish(void *item, char *err, size_t errlen)
{
    struct settings_zone *z = item;
    if (!z->file || !z->file[0]) {
        snprintf(err, errlen, "file is required (e.g. file = zones/%s.zone)", z->name);
        return OP_E_SYNTAX;
    }
    char msg[256];
    struct dns_acl acl;
    if (dns_acl_parse(z->allow_transfer, &acl, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "allow_transfer: %s", msg);
        return OP_E_SYNTAX;
    }
    dns_acl_free(&acl);
    struct dns_remotes rem;
    if (dns_remotes_parse(z->notify, 53, &rem, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "notify: %s", msg);
        return OP_E_SYNTAX;
    }
    dns_remotes_free(&rem);
    bool has_primaries = z->primaries && z->primaries[0];
    if (z->role == ZONE_SECONDARY) {
        if (!has_primaries) {
            snprintf(err, errlen, "primaries is required for role = secondary "
                                  "(e.g. primaries = 192.0.2.1:53)");
            return OP_E_SYNTAX;
        }
        if (dns_remotes_parse(z->primaries, 53, &rem, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "primaries: %s", msg);
            return OP_E_SYNTAX;
        }
        dns_remotes_free(&rem);
    } else if (has_primaries) {
        snprintf(err, errlen, "primaries is only for role = secondary");
        return OP_E_SYNTAX;
    }
    return 0;
}

/* ---- [key NAME] ------------------------------------------------------------ */

#define KOFF(f) offsetof(struct settings_key, f)

const char *const settings_key_algorithms[] = {"hmac-sha256", "hmac-sha384", "hmac-sha512",
                                               "hmac-sha1", NULL};

static const struct cfg_key key_keys[] = {
    {"key", "algorithm", CFG_ENUM, KOFF(algorithm), "hmac-sha256", 0, 0,
     settings_key_algorithms,
     "The HMAC algorithm (RFC 8945 section 6): hmac-sha256, hmac-sha384, "
     "hmac-sha512 or hmac-sha1."},
    {"key", "secret", CFG_STR, KOFF(secret), "", 0, 0, NULL,
     "The shared secret in base64, as 'tsig-keygen' or 'keymgr -t' print it "
     "(1 to 128 octets). Required. Keep the config file unreadable to others: "
     "outpost warns when it is world-readable, and never logs the secret."},
};

static int key_finish(void *item, char *err, size_t errlen)
{
    struct settings_key *k = item;
    unsigned char raw[128];
    /* The secret's value itself stays out of the message. */
    if (!k->secret || !k->secret[0]) {
        snprintf(err, errlen, "secret is required (base64, e.g. from tsig-keygen)");
        return OP_E_SYNTAX;
    }
    int n = sasl_b64_decode(k->secret, strlen(k->secret), raw, sizeof raw);
    explicit_bzero(raw, sizeof raw);
    if (n <= 0) {
        snprintf(err, errlen, "secret is not base64 of 1 to 128 octets");
        return OP_E_SYNTAX;
    }
    return 0;
}

const struct cfg_group settings_groups[] = {
    {"key", key_keys, ARRAY_LEN(key_keys), OFF(keys), sizeof(struct settings_key),
     KOFF(name), zone_check_name, key_finish,
     "One section per TSIG key (RFC 8945), named by the key's name as both ends "
     "know it: [key xfr-key]. Zones refer to keys by name in allow_transfer, "
     "notify and primaries."},
    {"zone", zone_keys, ARRAY_LEN(zone_keys), OFF(zones), sizeof(struct settings_zone),
     ZOFF(name), zone_check_name, zone_finish,
     "One section per zone the DNS service answers for with authority, named by "
     "the zone's apex: [zone example.com]. Zone files are re-read on SIGHUP and "
     "'outpost dns reload' when they changed."},
};
const size_t settings_ngroups = ARRAY_LEN(settings_groups);

/* Absolute form of p, taken relative to base when relative. */
/* Lexically tidy an absolute path: no "//", no "." parts, ".." folded into
 * its parent (the data directory need not exist yet, so no realpath()). */
static void path_clean(char *p)
{
    char *out = p;              /* p[0] == '/' */
    const char *in = p;
    while (*in) {
        while (*in == '/')
            in++;
        const char *end = strchrnul(in, '/');
        size_t n = (size_t)(end - in);
        if (n == 0 || (n == 1 && in[0] == '.')) {
            /* skip */
        } else if (n == 2 && in[0] == '.' && in[1] == '.') {
            while (out > p && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, in, n);
            out += n;
        }
        in = end;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

/* base/p made absolute and tidy; NULL if too long. */
static char *abs_path(const char *base, const char *p)
{
    char joined[PATH_MAX], full[PATH_MAX];
    if (p[0] == '/') {
        if (strlen(p) >= sizeof full)
            return NULL;
        strcpy(full, p);
    } else {
        if (path_join(joined, sizeof joined, base, p) < 0)
            return NULL;
        if (joined[0] == '/') {
            strcpy(full, joined);
        } else {
            char cwd[PATH_MAX];
            if (!getcwd(cwd, sizeof cwd) || path_join(full, sizeof full, cwd, joined) < 0)
                return NULL;
        }
    }
    path_clean(full);
    return xstrdup(full);
}

/* Whether keyname names a [key NAME] section. */
static bool key_known(const struct settings *s, const char *keyname)
{
    for (size_t i = 0; i < s->keys.n; i++)
        if (dns_acl_key_equal(settings_key_at(s, i)->name, keyname))
            return true;
    return false;
}

/* The keys named in the address list text of zone z's key: each must have
 * its [key NAME] section. Returns the number of errors reported. (A list
 * that does not parse was reported when the key was read.) */
static int check_remote_keys(const struct settings *s, const struct settings_zone *z,
                             const char *key, const char *text, const char *fname,
                             struct buf *errors)
{
    struct dns_remotes rem;
    char msg[256];
    int nerr = 0;
    if (dns_remotes_parse(text, 53, &rem, msg, sizeof msg) != 0)
        return 0;
    for (size_t j = 0; j < rem.n; j++) {
        if (rem.v[j].key[0] && !key_known(s, rem.v[j].key)) {
            buf_printf(errors, "%s: [zone %s] %s: no [key %s] section\n", fname, z->name, key,
                       rem.v[j].key);
            nerr++;
        }
    }
    dns_remotes_free(&rem);
    return nerr;
}

/* Every key a zone names must have its [key NAME] section. */
static int check_key_refs(const struct settings *s, const char *fname, struct buf *errors)
{
    int nerr = 0;
    char msg[256];
    for (size_t i = 0; i < s->zones.n; i++) {
        const struct settings_zone *z = settings_zone_at(s, i);
        struct dns_acl acl;
        if (dns_acl_parse(z->allow_transfer, &acl, msg, sizeof msg) == 0) {
            for (size_t j = 0; j < acl.n; j++) {
                const char *k = dns_acl_key_at(&acl, j);
                if (k && !key_known(s, k)) {
                    buf_printf(errors, "%s: [zone %s] allow_transfer: no [key %s] section\n",
                               fname, z->name, k);
                    nerr++;
                }
            }
            dns_acl_free(&acl);
        }
        nerr += check_remote_keys(s, z, "notify", z->notify, fname, errors);
        if (z->role == ZONE_SECONDARY)
            nerr += check_remote_keys(s, z, "primaries", z->primaries, fname, errors);
    }
    return nerr;
}

/* [queue] resolver: an address list without keys; retry_min <= retry_max. */
static int check_queue(const struct settings *s, const char *fname, struct buf *errors)
{
    int nerr = 0;
    struct dns_remotes rem;
    char msg[256];
    if (dns_remotes_parse(s->queue_resolver ? s->queue_resolver : "", 53, &rem, msg,
                          sizeof msg) != 0) {
        buf_printf(errors, "%s: [queue] resolver: %s\n", fname, msg);
        nerr++;
    } else {
        for (size_t i = 0; i < rem.n; i++)
            if (rem.v[i].key[0]) {
                buf_printf(errors, "%s: [queue] resolver: no keys here\n", fname);
                nerr++;
                break;
            }
        if (rem.n > 3) {
            buf_printf(errors, "%s: [queue] resolver: at most 3 addresses\n", fname);
            nerr++;
        }
        dns_remotes_free(&rem);
    }
    if (s->queue_retry_min > s->queue_retry_max) {
        buf_printf(errors, "%s: [queue] retry_min is longer than retry_max\n", fname);
        nerr++;
    }
    return nerr;
}

/* TSIG secrets in a file others may read are no secrets (RFC 8945 section
 * 9): say so, without refusing to start. */
static void warn_if_readable(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
        log_warn("config: %s holds TSIG secrets and is readable by every user; "
                 "chmod o-r it", path);
}

int settings_load(struct settings *s, const char *path, const char *data_override,
                  struct buf *errors)
{
    memset(s, 0, sizeof *s);
    int nerr;
    char confdir[PATH_MAX] = ".";
    if (path) {
        struct buf text = BUF_INIT;
        int r = read_file(path, &text, 1 << 20);
        if (r < 0) {
            buf_printf(errors, "%s: cannot read: %s\n", path, op_strerror(r));
            buf_free(&text);
            cfg_defaults(settings_schema, settings_nkeys, s);
            return 1;
        }
        nerr = cfg_load_groups(settings_schema, settings_nkeys, settings_groups,
                               settings_ngroups, s, buf_ptr(&text), buf_len(&text), path, errors);
        buf_free(&text);
        path_dirname(path, confdir, sizeof confdir);
        s->config_path = abs_path(".", path);
    } else {
        cfg_defaults(settings_schema, settings_nkeys, s);
        nerr = 0;
    }
    s->data_dir = data_override ? abs_path(".", data_override) : abs_path(confdir, s->data);
    if (!s->data_dir) {
        buf_printf(errors, "%s: data directory path too long\n", path ? path : "--data");
        return nerr + 1;
    }
    for (size_t i = 0; i < s->zones.n; i++) {
        struct settings_zone *z = cfg_item(&s->zones, sizeof *z, i);
        z->file_path = abs_path(s->data_dir, z->file);
        if (!z->file_path) {
            buf_printf(errors, "%s: [zone %s] file: path too long\n", path ? path : "config",
                       z->name);
            nerr++;
        }
    }
    nerr += check_key_refs(s, path ? path : "config", errors);
    nerr += check_queue(s, path ? path : "config", errors);
    if (s->ftp_pasv_min > s->ftp_pasv_max) {
        buf_printf(errors, "%s: [ftp] pasv_min_port %u is above pasv_max_port %u\n",
                   path ? path : "config", s->ftp_pasv_min, s->ftp_pasv_max);
        nerr++;
    }
    if (s->ftp_pasv_address && s->ftp_pasv_address[0]) {
        struct in_addr a;
        if (inet_pton(AF_INET, s->ftp_pasv_address, &a) != 1) {
            buf_printf(errors, "%s: [ftp] pasv_address: '%s' is not an IPv4 address\n",
                       path ? path : "config", s->ftp_pasv_address);
            nerr++;
        }
    }
    if (path && s->keys.n > 0)
        warn_if_readable(path);
    s->cert_path = abs_path(s->data_dir, s->cert);
    s->key_path = abs_path(s->data_dir, s->key);
    if (!s->cert_path || !s->key_path) {
        buf_printf(errors, "%s: certificate path too long\n", path ? path : "config");
        return nerr + 1;
    }
    return nerr;
}

void settings_free(struct settings *s)
{
    for (size_t i = 0; i < s->zones.n; i++)
        free(((struct settings_zone *)cfg_item(&s->zones, sizeof(struct settings_zone), i))->file_path);
    cfg_free_groups(settings_groups, settings_ngroups, s);
    cfg_free(settings_schema, settings_nkeys, s);
    free(s->config_path);
    free(s->data_dir);
    free(s->cert_path);
    free(s->key_path);
    memset(s, 0, sizeof *s);
}

int settings_write_file(struct buf *out, const char *(*set)(const char *section, const char *key))
{
    static const char header[] =
        "# outpost configuration.\n"
        "#\n"
        "# One 'key = value' per line under a [section]. Lines starting with '#'\n"
        "# are comments; a commented-out key shows its default. Check a change\n"
        "# with 'outpost check -c FILE'; apply it with SIGHUP (listen addresses\n"
        "# and workers need a restart). Every key is described in docs/CONFIG.md.\n";
    int r = cfg_write_commented(settings_schema, settings_nkeys, out, header, set);
    if (r < 0)
        return r;
    /* The zones: what a [zone NAME] section is, then the demo zone. */
    buf_puts(out, "\n");
    for (size_t g = 0; g < settings_ngroups; g++) {
        const struct cfg_group *grp = &settings_groups[g];
        buf_printf(out, "# [%s NAME]\n", grp->kind);
        cfg_write_doc(out, grp->doc);
        for (size_t i = 0; i < grp->nkeys; i++) {
            buf_printf(out, "#\n# %s:\n", grp->keys[i].key);
            cfg_write_doc(out, grp->keys[i].doc);
        }
    }
    buf_printf(out, "\n[zone %s]\nfile = %s\nrole = primary\n", SETTINGS_DEMO_ZONE,
               SETTINGS_DEMO_ZONE_FILE);
    return buf_cstr(out) ? 0 : -ENOMEM;
}
