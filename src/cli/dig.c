/*
 * outpost dig - ask a DNS server one question and print the answer the way
 * BIND's dig does, so that the two can be compared line by line.
 *
 * The query itself is dns/client.c's; this file reads the arguments,
 * finds the server (@server, else /etc/resolv.conf), and prints. Record
 * lines put their fields in dig's columns: the owner, then the TTL at
 * column 24, the class at 32, the type at 40 and the RDATA at 48, reached
 * with tabs (8 columns each) or, past the column, one space. The question
 * line works the same way, with its class at 32 and its ';' not counted.
 *
 * Exit status, as dig's: 0 when an answer was printed (whatever its
 * RCODE, NXDOMAIN included, and even a malformed one), 1 for a usage
 * error, 9 when no server answered, 10 for an internal error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/util.h"
#include "cli/cli.h"
#include "dns/client.h"
#include "dns/consts.h"
#include "dns/edns.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/wire.h"

#define DIG_OK 0
#define DIG_USAGE 1
#define DIG_NO_REPLY 9
#define DIG_INTERNAL 10

/* Addresses of one @server name that are tried, in order. */
#define DIG_MAX_SERVERS 8

static const char usage[] =
    "usage: outpost dig [@server] [-p port] [-4|-6] [-t type] [-c class] [-q name]\n"
    "                   [-x address] [name] [type] [class] [+option ...]\n"
    "\n"
    "Asks a DNS server one question and prints the answer as dig does. The\n"
    "server is @server (an address or a host name), else the first that\n"
    "answers of the nameservers in /etc/resolv.conf. Type and class may come\n"
    "in either order (default A and IN); -x makes the reverse-lookup question\n"
    "(PTR) for an IPv4 or IPv6 address.\n"
    "\n"
    "options:\n"
    "  +[no]tcp, +[no]vc  use TCP (UDP by default, TCP again when truncated;\n"
    "                     ANY goes over TCP unless +notcp)\n"
    "  +short             print only the RDATA of the answer\n"
    "  +[no]recurse       set the RD bit (default: set)\n"
    "  +[no]dnssec        ask for DNSSEC records (the DO bit)\n"
    "  +[no]cdflag        set the CD bit\n"
    "  +[no]edns          send an OPT record (default: yes)\n"
    "  +bufsize=N         EDNS UDP payload size (default 1232)\n"
    "  +time=S            seconds to wait per try (default 5)\n"
    "  +tries=N           UDP tries (default 3); +retry=N means N+1 tries\n"
    "  +[no]ignore        keep a truncated answer instead of retrying over TCP\n"
    "  +[no]cmd           print the first line with the version and arguments\n"
    "  -4, -6             use only IPv4 or IPv6 servers\n"
    "\n"
    "Exit status: 0 an answer was printed (NXDOMAIN too), 1 usage error,\n"
    "9 no reply from any server, 10 internal error.\n";

struct dig_args {
    const char *server;      /* @server as given, or NULL */
    long port;
    int family;              /* 0, AF_INET or AF_INET6 */
    const char *name;
    char reverse[80];        /* the -x name */
    uint16_t qtype, qclass;
    bool have_type, have_class;
    bool tcp, tcp_set, shortform, recurse, dnssec, cd, edns, ignore_tc, cmd;
    long bufsize;            /* -1: default */
    long time_s, tries;
};

/* ---- arguments ---------------------------------------------------------------- */

static int usage_error(const char *fmt, const char *arg)
{
    fputs("outpost dig: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(outpost dig --help says more)\n", stderr);
    return DIG_USAGE;
}

static bool parse_number(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* The reverse-lookup name of an address: RFC 1035 section 3.5 (IPv4,
 * in-addr.arpa) and RFC 3596 section 2.5 (IPv6, nibbles under ip6.arpa). */
static bool reverse_name(const char *addr, char *out, size_t cap)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, addr, b) == 1) {
        snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa.", b[3], b[2], b[1], b[0]);
        return true;
    }
    if (inet_pton(AF_INET6, addr, b) == 1) {
        static const char hex[] = "0123456789abcdef";
        size_t n = 0;
        for (int i = 15; i >= 0; i--) {
            out[n++] = hex[b[i] & 0xF];
            out[n++] = '.';
            out[n++] = hex[b[i] >> 4];
            out[n++] = '.';
        }
        snprintf(out + n, cap - n, "ip6.arpa.");
        return true;
    }
    return false;
}

/* A +option: +[no]NAME or +NAME=VALUE, NAME abbreviated to any prefix of
 * at least min characters, as dig allows ("+norec"). */
struct plus_opt {
    const char *name;
    size_t min;
    int what;
};

enum { P_TCP, P_VC, P_SHORT, P_RECURSE, P_DNSSEC, P_CD, P_EDNS, P_BUFSIZE, P_TIME, P_TRIES,
       P_RETRY, P_IGNORE, P_CMD };

static const struct plus_opt plus_opts[] = {
    {"tcp", 3, P_TCP},         {"vc", 2, P_VC},          {"short", 2, P_SHORT},
    {"recurse", 3, P_RECURSE}, {"dnssec", 2, P_DNSSEC},  {"cdflag", 2, P_CD},
    {"edns", 3, P_EDNS},       {"bufsize", 1, P_BUFSIZE}, {"time", 2, P_TIME},
    {"tries", 2, P_TRIES},     {"retry", 3, P_RETRY},    {"ignore", 2, P_IGNORE},
    {"cmd", 3, P_CMD},
};

static int plus_option(struct dig_args *a, const char *arg)
{
    const char *s = arg + 1;
    bool on = true;
    if (strncmp(s, "no", 2) == 0) {
        on = false;
        s += 2;
    }
    const char *eq = strchr(s, '=');
    size_t n = eq ? (size_t)(eq - s) : strlen(s);
    const struct plus_opt *p = NULL;
    for (size_t i = 0; i < ARRAY_LEN(plus_opts); i++)
        if (n >= plus_opts[i].min && n <= strlen(plus_opts[i].name) &&
            strncmp(s, plus_opts[i].name, n) == 0)
            p = &plus_opts[i];
    if (!p)
        return usage_error("unknown option '%s'", arg);
    bool valued = p->what == P_BUFSIZE || p->what == P_TIME || p->what == P_TRIES ||
                  p->what == P_RETRY;
    if (valued && on && !eq)
        return usage_error("'%s' needs a value (+name=N)", arg);
    if (!valued && eq)
        return usage_error("'%s' takes no value", arg);
    long v = 0;
    switch (p->what) {
    case P_TCP: case P_VC: a->tcp = on; a->tcp_set = true; break;
    case P_SHORT: a->shortform = on; break;
    case P_RECURSE: a->recurse = on; break;
    case P_DNSSEC: a->dnssec = on; break;
    case P_CD: a->cd = on; break;
    case P_EDNS: a->edns = on; break;
    case P_IGNORE: a->ignore_tc = on; break;
    case P_CMD: a->cmd = on; break;
    case P_BUFSIZE:
        if (!on) {
            a->bufsize = -1;
            break;
        }
        if (!parse_number(eq + 1, 0, 65535, &v))
            return usage_error("+bufsize wants 0-65535, not '%s'", eq + 1);
        a->bufsize = v;
        a->edns = true;
        break;
    case P_TIME:
        if (!on || !parse_number(eq + 1, 0, DNS_CLIENT_MAX_TIMEOUT_MS / 1000, &v))
            return usage_error("+time wants a number of seconds, not '%s'", arg);
        a->time_s = v < 1 ? 1 : v;           /* dig's minimum: one second */
        break;
    case P_TRIES: case P_RETRY:
        if (!on || !parse_number(eq + 1, 0, DNS_CLIENT_MAX_TRIES, &v))
            return usage_error("'%s' wants a number of tries", arg);
        v += p->what == P_RETRY;
        a->tries = v < 1 ? 1 : v;
        break;
    }
    return -1;
}

/* A word that is neither an option nor @server: a type, a class or the
 * name, in any order, as dig reads them (the first word that reads as a
 * type is the type, and so on). */
static int plain_word(struct dig_args *a, const char *w)
{
    uint16_t v;
    if (!a->have_type && dns_type_from_text(w, strlen(w), &v) == 0) {
        a->qtype = v;
        a->have_type = true;
    } else if (!a->have_class && dns_class_from_text(w, strlen(w), &v) == 0) {
        a->qclass = v;
        a->have_class = true;
    } else if (!a->name) {
        a->name = w;
    } else {
        return usage_error("one question at a time: '%s' is a second name", w);
    }
    return -1;
}

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct dig_args *a)
{
    *a = (struct dig_args){.port = 53, .qtype = DNS_TYPE_A, .qclass = DNS_CLASS_IN,
                           .recurse = true, .edns = true, .cmd = true, .bufsize = -1,
                           .time_s = DNS_CLIENT_TIMEOUT_MS / 1000, .tries = DNS_CLIENT_TRIES};
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        int rc = -1;
        if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0) {
            fputs(usage, stdout);
            return DIG_OK;
        }
        /* the options with a value: -p, -t, -c, -q, -x */
        if (w[0] == '-' && w[1] && strchr("ptcqx", w[1]) && !w[2]) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", w);
            const char *v = argv[++i];
            uint16_t n;
            switch (w[1]) {
            case 'p':
                if (!parse_number(v, 0, 65535, &a->port))
                    return usage_error("invalid port number '%s'", v);
                break;
            case 't':
                if (dns_type_from_text(v, strlen(v), &n) < 0)
                    return usage_error("invalid type '%s'", v);
                a->qtype = n;
                a->have_type = true;
                break;
            case 'c':
                if (dns_class_from_text(v, strlen(v), &n) < 0)
                    return usage_error("invalid class '%s'", v);
                a->qclass = n;
                a->have_class = true;
                break;
            case 'q':
                a->name = v;
                break;
            case 'x':
                if (!reverse_name(v, a->reverse, sizeof a->reverse))
                    return usage_error("'%s' is not an IPv4 or IPv6 address", v);
                a->name = a->reverse;
                if (!a->have_type)
                    a->qtype = DNS_TYPE_PTR;
                break;
            }
            continue;
        }
        if (strcmp(w, "-4") == 0)
            a->family = AF_INET;
        else if (strcmp(w, "-6") == 0)
            a->family = AF_INET6;
        else if (w[0] == '@' && w[1])
            a->server = w + 1;
        else if (w[0] == '+' && w[1])
            rc = plus_option(a, w);
        else if (w[0] == '-' && w[1])
            rc = usage_error("unknown option '%s'", w);
        else
            rc = plain_word(a, w);
        if (rc >= 0)
            return rc;
    }
    return -1;
}

/* ---- servers ------------------------------------------------------------------ */

static void set_port(struct dns_server *s, uint16_t port)
{
    if (s->addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&s->addr)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)&s->addr)->sin6_port = htons(port);
}

/* The servers to try, in order: the addresses of @server, or resolv.conf's.
 * Returns how many (0 after printing why), or -1 on an internal error. */
static int find_servers(const struct dig_args *a, struct dns_server *out, size_t max)
{
    size_t n = 0;
    if (a->server) {
        if (dns_server_from_text(&out[0], a->server, (uint16_t)a->port) == 0) {
            n = 1;
        } else {
            /* A host name: the system's resolver finds its addresses. */
            struct addrinfo hints = {.ai_family = a->family, .ai_socktype = SOCK_DGRAM};
            struct addrinfo *res = NULL, *ai;
            int e = getaddrinfo(a->server, NULL, &hints, &res);
            if (e != 0) {
                fprintf(stderr, "outpost dig: couldn't get address for '%s': %s\n", a->server,
                        gai_strerror(e));
                return -1;
            }
            for (ai = res; ai && n < max; ai = ai->ai_next) {
                if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
                    ai->ai_addrlen > sizeof out[n].addr)
                    continue;
                memset(&out[n], 0, sizeof out[n]);
                memcpy(&out[n].addr, ai->ai_addr, ai->ai_addrlen);
                out[n].len = ai->ai_addrlen;
                set_port(&out[n], (uint16_t)a->port);
                n++;
            }
            freeaddrinfo(res);
        }
    } else {
        int r = dns_resolv_conf_read(NULL, out, max < DNS_RESOLV_MAXNS ? max : DNS_RESOLV_MAXNS);
        if (r < 0) {
            fprintf(stderr, "outpost dig: cannot read %s: %s\n", DNS_RESOLV_CONF,
                    op_strerror(r));
            return -1;
        }
        n = (size_t)r;
        for (size_t i = 0; i < n; i++)
            set_port(&out[i], (uint16_t)a->port);
    }
    /* -4 / -6: keep the servers of that family only. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!a->family || out[i].addr.ss_family == a->family)
            out[kept++] = out[i];
    if (kept == 0) {
        fprintf(stderr, "outpost dig: no %s server address to use\n",
                a->family == AF_INET6 ? "IPv6" : "IPv4");
        return -1;
    }
    return (int)kept;
}

/* ---- printing ------------------------------------------------------------------- */

/* Move from column *col to column to, as dig does: tabs when a tab stop
 * lies between, else spaces; at least one character. */
static void indent(struct buf *b, size_t *col, size_t to)
{
    if (to < *col + 1)
        to = *col + 1;
    size_t tabs = to / 8 - *col / 8;
    size_t spaces = tabs ? to % 8 : to - *col;
    for (size_t i = 0; i < tabs; i++)
        buf_puts(b, "\t");
    for (size_t i = 0; i < spaces; i++)
        buf_puts(b, " ");
    *col = to;
}

static void put_field(struct buf *b, size_t *col, const char *s)
{
    buf_puts(b, s);
    *col += strlen(s);
}

/* The RDATA of rr in presentation form, appended to b. */
static int rdata_text(const struct dns_msg *m, const struct dns_rr *rr, uint8_t *scratch,
                      struct buf *b)
{
    int len = dns_rr_rdata(m, rr, scratch, DNS_MSG_MAX, 0);
    if (len < 0)
        return len;
    return dns_rdata_to_text(rr->type, scratch, (size_t)len, b);
}

/* One question or RR, as a line of dig's output. */
static int entry_line(const struct dns_msg *m, const struct dns_rr *rr, uint8_t *scratch,
                      struct buf *b)
{
    struct dns_name owner;
    char name[DNS_NAME_MAXTEXT], num[16], mn[DNS_MNEMONIC_MAX];
    int r = dns_rr_owner(m, rr, &owner);
    if (r < 0 || (r = dns_name_to_text(&owner, name, sizeof name)) < 0)
        return r;
    size_t col = 0;
    bool question = rr->section == DNS_SECTION_QUESTION;
    if (question)
        buf_puts(b, ";");                  /* not counted in the columns */
    put_field(b, &col, name);
    if (!question) {
        indent(b, &col, 24);
        snprintf(num, sizeof num, "%u", (unsigned)rr->ttl);
        put_field(b, &col, num);
    }
    indent(b, &col, 32);
    put_field(b, &col, dns_class_to_text(rr->rclass, mn));
    indent(b, &col, 40);
    put_field(b, &col, dns_type_to_text(rr->type, mn));
    if (!question) {
        indent(b, &col, 48);
        if ((r = rdata_text(m, rr, scratch, b)) < 0)
            return r;
    }
    buf_puts(b, "\n");
    return 0;
}

static const char *const section_names[DNS_SECTIONS] = {"QUESTION", "ANSWER", "AUTHORITY",
                                                        "ADDITIONAL"};

/* Lower-case hex, with sep between octets ("" or " "), as dig writes options. */
static void hex(struct buf *b, const uint8_t *p, size_t n, const char *sep)
{
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s%02x", i ? sep : "", p[i]);
}

/* Printable ASCII as is, anything else as '.', as dig shows option text. */
static void printable(struct buf *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%c", p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
}

/* The OPT RR as dig's OPT PSEUDOSECTION (RFC 6891 section 6.1.3 for the
 * fields, RFC 8914 for EDE, RFC 5001 for NSID, RFC 7873 for COOKIE). */
static void opt_section(struct buf *b, const struct dns_edns *e)
{
    buf_printf(b, ";; OPT PSEUDOSECTION:\n; EDNS: version: %u, flags:%s", e->version,
               e->do_bit ? " do" : "");
    if (e->z)
        buf_printf(b, "; MBZ: 0x%04x, udp: %u\n", e->z, e->udp_size);
    else
        buf_printf(b, "; udp: %u\n", e->udp_size);
    size_t pos = 0;
    struct dns_edns_opt o;
    for (int n = 0; n < 65535 && dns_edns_next_option(e, &pos, &o); n++) {
        switch (o.code) {
        case DNS_EDNS_NSID:
            buf_puts(b, "; NSID: ");
            hex(b, o.data, o.len, " ");
            buf_puts(b, " (\"");
            printable(b, o.data, o.len);
            buf_puts(b, "\")\n");
            break;
        case DNS_EDNS_COOKIE:
            buf_puts(b, "; COOKIE: ");
            hex(b, o.data, o.len, "");
            buf_puts(b, "\n");
            break;
        case DNS_EDNS_EDE: {
            uint16_t code;
            const char *text;
            size_t tlen;
            buf_puts(b, "; EDE: ");
            if (dns_edns_read_ede(&o, &code, &text, &tlen) < 0) {
                buf_puts(b, "INVALID(");
                hex(b, o.data, o.len, "");
                buf_puts(b, ")\n");
                break;
            }
            buf_printf(b, "%u", code);
            if (dns_ede_name(code))
                buf_printf(b, " (%s)", dns_ede_name(code));
            if (tlen) {
                buf_puts(b, ": (");
                printable(b, (const uint8_t *)text, tlen);
                buf_puts(b, ")");
            }
            buf_puts(b, "\n");
            break;
        }
        default:
            buf_printf(b, "; OPT=%u: ", o.code);
            hex(b, o.data, o.len, " ");
            buf_puts(b, " (\"");
            printable(b, o.data, o.len);
            buf_puts(b, "\")\n");
            break;
        }
    }
}

static void header_lines(struct buf *b, const struct dns_msg *m, const struct dns_edns *e)
{
    const struct dns_header *h = &m->hdr;
    char op[DNS_MNEMONIC_MAX], rc[DNS_MNEMONIC_MAX];
    buf_printf(b, ";; ->>HEADER<<- opcode: %s, status: %s, id: %u\n",
               dns_opcode_to_text(h->opcode, op), dns_rcode_to_text(dns_edns_rcode(h, e), rc),
               h->id);
    buf_puts(b, ";; flags:");
    const struct { bool on; const char *name; } flags[] = {
        {h->qr, " qr"}, {h->aa, " aa"}, {h->tc, " tc"}, {h->rd, " rd"},
        {h->ra, " ra"}, {h->ad, " ad"}, {h->cd, " cd"},
    };
    for (size_t i = 0; i < ARRAY_LEN(flags); i++)
        if (flags[i].on)
            buf_puts(b, flags[i].name);
    buf_printf(b, "; QUERY: %u, ANSWER: %u, AUTHORITY: %u, ADDITIONAL: %u\n",
               h->count[0], h->count[1], h->count[2], h->count[3]);
    if (h->z)
        buf_puts(b, ";; WARNING: the Z bit of the header is set\n");
    if (h->opcode == DNS_OPCODE_QUERY && h->rd && !h->ra)
        buf_puts(b, ";; WARNING: recursion requested but not available\n");
    if (m->trailing)
        buf_printf(b, ";; WARNING: Message has %zu extra byte%s at end\n", m->trailing,
                   m->trailing == 1 ? "" : "s");
}

/* The whole answer, or with +short only the answer's RDATA. */
static int print_message(struct buf *b, const struct dns_msg *m, bool shortform)
{
    uint8_t *scratch = malloc(DNS_MSG_MAX);
    if (!scratch)
        return -ENOMEM;
    int r = 0;
    if (shortform) {
        size_t n;
        const struct dns_rr *rr = dns_msg_section(m, DNS_SECTION_ANSWER, &n);
        for (size_t i = 0; i < n && r == 0; i++) {
            if ((r = rdata_text(m, &rr[i], scratch, b)) == 0)
                buf_puts(b, "\n");
        }
        free(scratch);
        return r;
    }
    struct dns_edns e;
    dns_edns_get(m, &e);
    header_lines(b, m, &e);
    buf_puts(b, "\n");
    if (e.status != DNS_EDNS_NONE)
        opt_section(b, &e);
    for (int s = 0; s < DNS_SECTIONS && r == 0; s++) {
        size_t n, shown = 0;
        const struct dns_rr *rr = dns_msg_section(m, (enum dns_section)s, &n);
        for (size_t i = 0; i < n && r == 0; i++) {
            if (rr[i].type == DNS_TYPE_OPT && s == DNS_SECTION_ADDITIONAL)
                continue;                  /* shown above, as the pseudo-section */
            if (shown++ == 0)
                buf_printf(b, ";; %s SECTION:\n", section_names[s]);
            r = entry_line(m, &rr[i], scratch, b);
        }
        if (shown)
            buf_puts(b, "\n");
    }
    free(scratch);
    return r;
}

static void print_bad_packet(struct buf *b, const uint8_t *p, size_t len, int err)
{
    buf_printf(b, ";; Got bad packet: %s\n%zu bytes\n", op_strerror(err), len);
    for (size_t i = 0; i < len; i++)
        buf_printf(b, "%02x%s", p[i], (i % 16 == 15 || i + 1 == len) ? "\n" : " ");
}

/* ---- running the query ------------------------------------------------------------ */

struct dig_run {
    const struct dig_args *a;
    const struct dns_server *server;
    char addr[INET6_ADDRSTRLEN + 64];
};

static const char *error_text(int err)
{
    switch (err) {
    case -ETIMEDOUT: return "timed out";
    case -ECONNREFUSED: return "connection refused";
    case -ECONNRESET: return "connection reset";
    case -EMSGSIZE: return "message too large";
    default: return op_strerror(err);
    }
}

/* Progress, printed as dig prints it, on standard output. */
static void on_event(void *arg, const struct dns_client_event *ev)
{
    struct dig_run *run = arg;
    unsigned port = dns_server_port(run->server);
    switch (ev->kind) {
    case DNS_CLIENT_TRY_FAILED:
        if (ev->tcp)
            printf(";; Connection to %s#%u(%s) for %s failed: %s.\n", run->addr, port,
                   run->a->server ? run->a->server : run->addr,
                   run->a->name ? run->a->name : ".", error_text(ev->err));
        else
            printf(";; communications error to %s#%u: %s\n", run->addr, port,
                   error_text(ev->err));
        break;
    case DNS_CLIENT_IGNORED:
        if (ev->wrong_id)
            printf(";; Warning: ID mismatch: expected ID %u, got %u\n", ev->want_id, ev->got_id);
        else
            printf(";; Warning: ignored a %s message from %s#%u: %s\n", ev->tcp ? "TCP" : "UDP",
                   run->addr, port, ev->why);
        break;
    case DNS_CLIENT_TRUNCATED:
        if (!run->a->shortform)            /* +short keeps to the RDATA, as dig does */
            printf(";; Truncated, retrying in TCP mode.\n");
        break;
    }
    fflush(stdout);
}

/* The lines before the answer. +nocmd leaves them out, except before "no
 * servers could be reached" (always), as dig does. */
static void banner(struct buf *b, int argc, char **argv, const struct dig_args *a, int nservers,
                   bool always)
{
    if (!a->cmd && !always)
        return;
    buf_puts(b, "\n; <<>> outpost dig <<>>");
    for (int i = 1; i < argc; i++)
        buf_printf(b, " %s", argv[i]);
    buf_puts(b, "\n");
    if (a->server)
        buf_printf(b, "; (%d server%s found)\n", nservers, nservers == 1 ? "" : "s");
    buf_puts(b, ";; global options: +cmd\n");
}

static void footer(struct buf *b, const struct dig_run *run, const struct dns_reply *rep)
{
    char when[128];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%a %b %d %H:%M:%S %Z %Y", &tm);
    buf_printf(b, ";; Query time: %llu msec\n", (unsigned long long)(rep->rtt_us / 1000));
    buf_printf(b, ";; SERVER: %s#%u(%s) (%s)\n", run->addr, dns_server_port(run->server),
               run->a->server ? run->a->server : run->addr, rep->tcp ? "TCP" : "UDP");
    buf_printf(b, ";; WHEN: %s\n", when);
    buf_printf(b, ";; MSG SIZE  rcvd: %zu\n\n", rep->len);
}

static int flush_buf(struct buf *b)
{
    size_t n = buf_len(b);
    int ok = fwrite(buf_ptr(b), 1, n, stdout) == n && fflush(stdout) == 0;
    buf_clear(b);
    return ok ? 0 : -EIO;
}

/*
 * Print one response: the banner (unless +short), then the message. A
 * message the parser refuses is still a reply, as dig counts it (status
 * 0): its header is shown, then its octets in hex. The exit status.
 */
static int show_answer(struct buf *out, const struct dig_run *run, int argc, char **argv,
                       int nservers, const uint8_t *resp, const struct dns_reply *rep)
{
    const struct dig_args *a = run->a;
    size_t max = DNS_MSG_MAXRR(rep->len);
    struct dns_rr *rrs = calloc(max ? max : 1, sizeof *rrs);
    if (!rrs)
        return DIG_INTERNAL;
    struct dns_msg m;
    int rc = DIG_OK;
    int r = dns_msg_parse(&m, resp, rep->len, rrs, max);
    if (r < 0)
        buf_puts(out, ";; Warning: Message parser reports malformed message packet.\n");
    if (!a->shortform) {
        banner(out, argc, argv, a, nservers, false);
        buf_puts(out, ";; Got answer:\n");
    }
    if (r < 0) {
        struct dns_msg head = {0};
        if (!a->shortform && dns_header_read(resp, rep->len, &head.hdr) == 0) {
            header_lines(out, &head, NULL);
            buf_puts(out, "\n");
        }
        if (!a->shortform) {
            print_bad_packet(out, resp, rep->len, r);
            buf_puts(out, "\n");
            footer(out, run, rep);
        }
    } else if ((r = print_message(out, &m, a->shortform)) < 0) {
        fprintf(stderr, "outpost dig: cannot print the answer: %s\n", op_strerror(r));
        rc = DIG_INTERNAL;
    } else if (!a->shortform) {
        footer(out, run, rep);
    }
    free(rrs);
    return rc;
}

int cmd_dig(int argc, char **argv)
{
    struct dig_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;

    struct dns_name qname;
    const char *name = a.name ? a.name : ".";
    if (!a.name && !a.have_type)
        a.qtype = DNS_TYPE_NS;                   /* dig with no name: the root's NS */
    if (dns_name_from_text(&qname, name, strlen(name), NULL) < 0)
        return usage_error("'%s' is not a domain name", name);

    if (a.qtype == DNS_TYPE_AXFR || a.qtype == DNS_TYPE_IXFR) {
        fprintf(stderr, "outpost dig: zone transfers (AXFR, IXFR) are not supported\n");
        return DIG_USAGE;
    }
    /* An ANY answer is often large (or minimal over UDP, RFC 8482 section
     * 4.1): like dig, ask over TCP unless +notcp says otherwise. */
    if (a.qtype == DNS_TYPE_ANY && !a.tcp_set)
        a.tcp = true;

    struct dns_server servers[DIG_MAX_SERVERS];
    int nservers = find_servers(&a, servers, DIG_MAX_SERVERS);
    if (nservers < 0)
        return DIG_INTERNAL;

    struct dns_query_opts o = {
        .rd = a.recurse, .cd = a.cd, .edns = a.edns, .do_bit = a.dnssec, .tcp = a.tcp,
        .ignore_tc = a.ignore_tc, .timeout_ms = (int)(a.time_s * 1000), .tries = (int)a.tries,
        .on_event = on_event,
    };
    if (a.bufsize >= 0)
        o.udp_size = a.bufsize < DNS_EDNS_MIN_UDP ? DNS_EDNS_MIN_UDP : (uint16_t)a.bufsize;
    uint8_t *resp = malloc(DNS_MSG_MAX);
    if (!resp)
        return DIG_INTERNAL;

    struct buf out = BUF_INIT;
    rc = DIG_NO_REPLY;
    for (int i = 0; i < nservers; i++) {
        struct dig_run run = {.a = &a, .server = &servers[i]};
        if (dns_server_addr_text(&servers[i], run.addr, sizeof run.addr) < 0)
            str_copy(run.addr, sizeof run.addr, "?");
        o.arg = &run;
        struct dns_reply rep;
        int r = dns_client_query(&servers[i], &qname, a.qtype, a.qclass, &o, resp, DNS_MSG_MAX,
                                 &rep);
        if (r < 0)
            continue;                         /* reported by on_event; try the next */
        rc = show_answer(&out, &run, argc, argv, nservers, resp, &rep);
        break;
    }
    if (rc == DIG_NO_REPLY && buf_len(&out) == 0) {
        if (!a.shortform)
            banner(&out, argc, argv, &a, nservers, true);
        buf_puts(&out, ";; no servers could be reached\n");
    }
    if (flush_buf(&out) < 0 && rc == DIG_OK)
        rc = DIG_INTERNAL;
    buf_free(&out);
    free(resp);
    return rc;
}
