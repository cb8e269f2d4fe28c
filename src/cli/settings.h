/*
 * settings.h - the whole configuration of outpost, as a struct, and the
 * schema that maps the config file onto it (every key, its type, default and
 * documentation). The commented config written for the embedded default and
 * docs/CONFIG.md are both produced from this one table.
 */
#ifndef OP_CLI_SETTINGS_H
#define OP_CLI_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/policy.h"
#include "base/buf.h"
#include "base/config.h"

enum tls_min { TLS_MIN_12, TLS_MIN_13 };

struct settings {
    /* [server] */
    char *data;                 /* data directory (relative: to the config file's directory) */
    char *user;                 /* drop privileges to this user after binding (root only) */
    unsigned workers;           /* event-loop threads; 0 = one per core */
    int log;                    /* 0 stderr, 1 syslog */
    int log_level;              /* enum log_level */
    unsigned shutdown_grace;    /* ms */
    char *hostname;             /* name in greetings; empty = system host name */

    /* [tls] */
    char *cert, *key;
    int tls_min;

    /* [limits] */
    unsigned max_connections;
    unsigned max_per_ip;

    /* [auth] */
    int plaintext;              /* enum plaintext_policy */

    /* [mail] */
    char *default_domain;       /* domain appended to logins without '@' */
    uint64_t max_message_size;

    /* [pop3] */
    struct cfg_addrs pop3_listen, pop3_listen_tls;
    unsigned pop3_idle_timeout; /* ms */
    unsigned pop3_command_timeout; /* ms */

    /* [smtp] */
    struct cfg_addrs smtp_listen, smtp_listen_submission, smtp_listen_submissions;
    char *smtp_local_domains, *smtp_aliases, *smtp_catch_all;
    unsigned smtp_max_recipients;
    bool smtp_sender_login_check;
    unsigned smtp_idle_timeout, smtp_command_timeout, smtp_data_timeout; /* ms */
    /* [ftp] */
    struct cfg_addrs ftp_listen;
    unsigned ftp_pasv_min, ftp_pasv_max;
    char *ftp_pasv_address;     /* "" = the control connection's local address */
    bool ftp_anonymous;
    uint64_t ftp_quota;         /* bytes per user; 0 = none */
    uint64_t ftp_rate_limit;    /* bytes/s per session; 0 = none */
    unsigned ftp_idle_timeout, ftp_command_timeout, ftp_data_timeout; /* ms */

    /* [dns] */
    struct cfg_addrs dns_listen;
    unsigned dns_udp_payload;   /* our EDNS payload size */
    unsigned dns_tcp_idle_timeout; /* ms */
    unsigned dns_rrl_rate;      /* responses/s per client prefix and kind; 0 = off */
    unsigned dns_rrl_slip;
    bool dns_log_queries;

    /* [queue] */
    char *queue_resolver;       /* "ADDR[:PORT], ..."; "" = /etc/resolv.conf */
    unsigned queue_smtp_port;   /* remote servers' SMTP port */
    unsigned queue_runners;     /* concurrent deliveries */
    unsigned queue_connect_timeout; /* ms */
    unsigned queue_smtp_timeout;    /* ms; 0 = RFC 5321 section 4.5.3.2's */
    unsigned queue_expiry;      /* ms */
    unsigned queue_retry_min, queue_retry_max; /* ms */
    unsigned queue_delay_warn;  /* ms; 0 = never */

    /* [key NAME], one item per TSIG key: struct settings_key */
    struct cfg_list keys;
    /* [zone NAME], one item per zone: struct settings_zone */
    struct cfg_list zones;

    /* derived at load time, not in the file */
    char *config_path;          /* absolute path of the file read, or NULL */
    char *data_dir;             /* absolute data directory */
    char *cert_path, *key_path; /* absolute */
};

/* The embedded default's demo zone (written on first start). */
#define SETTINGS_DEMO_ZONE      "example.test"
#define SETTINGS_DEMO_ZONE_FILE "zones/example.test.zone"

enum zone_role { ZONE_PRIMARY, ZONE_SECONDARY };

/* One [zone NAME] section. */
struct settings_zone {
    char *name;                 /* canonical: lower case, no final dot ("." for the root) */
    char *file;                 /* as written */
    int role;                   /* enum zone_role */
    char *primaries;            /* secondary: "ADDR[:PORT] [key NAME], ..." (dns/secondary.h) */
    char *allow_transfer;       /* dns/acl.h access list; "" = nobody */
    char *notify;               /* dns/acl.h address list; "" = none */
    char *file_path;            /* derived: absolute (relative to the data directory) */
};

/* The TSIG algorithms a [key NAME] may name, in the order of enum
 * dns_tsig_alg (dns/tsig.h). */
extern const char *const settings_key_algorithms[];

/* One [key NAME] section: a TSIG key (RFC 8945). The secret is never
 * logged or printed. */
struct settings_key {
    char *name;                 /* canonical: lower case, no final dot */
    int algorithm;              /* index into settings_key_algorithms */
    char *secret;               /* base64, as written */
};

static inline const struct settings_key *settings_key_at(const struct settings *s, size_t i)
{
    return cfg_item(&s->keys, sizeof(struct settings_key), i);
}

static inline const struct settings_zone *settings_zone_at(const struct settings *s, size_t i)
{
    return cfg_item(&s->zones, sizeof(struct settings_zone), i);
}

extern const struct cfg_key settings_schema[];
extern const size_t settings_nkeys;
extern const struct cfg_group settings_groups[];
extern const size_t settings_ngroups;

/* Load FILE (errors as "file:line: ..." lines into errors); resolves paths.
 * data_override (from --data) wins over the file's [server] data.
 * Returns the number of errors, or negative on I/O failure. */
/* Whether any enabled service speaks TLS (POP3 has STLS on its plain
 * listener too, SMTP STARTTLS on its MX and submission listeners, FTP AUTH
 * TLS). Without one, no certificate is needed: a DNS-only server starts
 * without [tls] files. */
static inline bool settings_need_tls(const struct settings *s)
{
    return s->pop3_listen.n > 0 || s->pop3_listen_tls.n > 0 || s->smtp_listen.n > 0 ||
           s->smtp_listen_submission.n > 0 || s->smtp_listen_submissions.n > 0 ||
           s->ftp_listen.n > 0;
}

int settings_load(struct settings *s, const char *path, const char *data_override,
                  struct buf *errors);
void settings_free(struct settings *s);

/* The documented config file, with values from set() uncommented. */
int settings_write_file(struct buf *out, const char *(*set)(const char *section, const char *key));

#endif
