/*
 * zoneload.c - dns_zone_load (zone.h): a master file read into a new,
 * finished zone. The reader (zonefile.c) and the store (zone.c) know
 * nothing of each other; this is where they meet.
 */
#include "dns/zone.h"

#include <errno.h>

#include "dns/consts.h"

struct load_ctx {
    struct dns_zone *z;
    struct buf *errors;
};

static int add_record(void *arg, const struct dns_src *src, const struct dns_name *owner,
                      uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
                      uint16_t rdlen)
{
    struct load_ctx *c = arg;
    return dns_zone_add(c->z, src, owner, type, rclass, ttl, rdata, rdlen, c->errors);
}

int dns_zone_load(const char *path, const struct dns_name *apex, struct dns_zone **out,
                  struct buf *errors)
{
    *out = NULL;
    struct dns_zone *z = dns_zone_new(apex, DNS_CLASS_IN);
    if (!z)
        return -ENOMEM;
    struct load_ctx c = {z, errors};
    int r = dns_zonefile_read(path, apex, add_record, &c, errors);
    if (r == 0)
        r = dns_zone_finish(z, errors);
    if (r < 0) {
        dns_zone_unref(z);
        return r;
    }
    *out = z;
    return 0;
}
