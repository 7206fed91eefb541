/* Discovery: the Wyoming service advertised as _wyoming._tcp over mDNS by the Avahi
 * daemon (through libavahi-client and D-Bus), which Home Assistant's zeroconf
 * discovery looks for: AXIOM then appears under "Discovered" in Settings > Devices &
 * services, and adding it needs no host or port typed in.
 *
 * Only where the listener can be reached: on the interface that holds wyoming.host
 * (loopback only for 127.0.0.1; every interface for 0.0.0.0 or ::). When no daemon
 * runs, the client waits for one (AVAHI_CLIENT_NO_FAIL) and registers when it
 * appears; when the daemon restarts, it registers again; a name taken by another host
 * gets Avahi's alternative ("AXIOM on lab #2"). Without D-Bus at all, discovery is
 * "unavailable" and the service runs without it.
 *
 * Threads: Avahi's own poll thread (avahi_threaded_poll) runs every callback here;
 * d->poll's lock (avahi_threaded_poll_lock) guards the client, the entry group, the
 * name and the state, taken by start, stop and wy_discovery_state. */
#include "core/log.h"
#include "core/util.h"
#include "wyoming/wyoming_internal.h"

#include <arpa/inet.h>
#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/thread-watch.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_TYPE "_wyoming._tcp"

struct wy_discovery {
    AvahiThreadedPoll *poll;
    AvahiClient *client;
    AvahiEntryGroup *group;
    char *name; /* avahi_malloc'ed: avahi_alternative_service_name replaces it */
    int port;
    AvahiIfIndex iface;
    AvahiProtocol proto;
    const char *state;
};

static void create_client(wy_discovery *d);

static void group_cb(AvahiEntryGroup *g, AvahiEntryGroupState st, void *user) {
    wy_discovery *d = user;
    d->group = g;
    switch (st) {
    case AVAHI_ENTRY_GROUP_ESTABLISHED:
        d->state = "advertised";
        LOG_I("wyoming", "advertised as '%s' (%s, port %d) for zeroconf discovery", d->name,
              SERVICE_TYPE, d->port);
        break;
    case AVAHI_ENTRY_GROUP_COLLISION: {
        char *n = avahi_alternative_service_name(d->name);
        LOG_W("wyoming", "zeroconf name '%s' is taken on the network; using '%s'", d->name, n);
        avahi_free(d->name);
        d->name = n;
        avahi_entry_group_reset(g);
        if (avahi_entry_group_add_service(g, d->iface, d->proto, 0, d->name, SERVICE_TYPE, NULL,
                                          NULL, (uint16_t)d->port, NULL) == 0)
            avahi_entry_group_commit(g);
        break;
    }
    case AVAHI_ENTRY_GROUP_FAILURE:
        d->state = "failed";
        LOG_W("wyoming", "zeroconf registration failed: %s",
              avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
        break;
    default:
        break;
    }
}

static void register_service(wy_discovery *d, AvahiClient *c) {
    if (!d->group && !(d->group = avahi_entry_group_new(c, group_cb, d))) {
        LOG_W("wyoming", "zeroconf: %s", avahi_strerror(avahi_client_errno(c)));
        return;
    }
    if (!avahi_entry_group_is_empty(d->group)) return;
    int e;
    /* A name another service of this host holds is refused at once (a collision on the
     * network is reported later, to group_cb): take Avahi's alternative and retry. */
    for (int tries = 0;; tries++) {
        e = avahi_entry_group_add_service(d->group, d->iface, d->proto, 0, d->name, SERVICE_TYPE,
                                          NULL, NULL, (uint16_t)d->port, NULL);
        if (e != AVAHI_ERR_COLLISION || tries >= 20) break;
        char *n = avahi_alternative_service_name(d->name);
        LOG_W("wyoming", "zeroconf name '%s' is taken on this host; using '%s'", d->name, n);
        avahi_free(d->name);
        d->name = n;
    }
    if (e == 0) e = avahi_entry_group_commit(d->group);
    if (e != 0) LOG_W("wyoming", "zeroconf: cannot register '%s': %s", d->name, avahi_strerror(e));
}

static void client_cb(AvahiClient *c, AvahiClientState st, void *user) {
    wy_discovery *d = user;
    switch (st) {
    case AVAHI_CLIENT_S_RUNNING:
        register_service(d, c);
        break;
    case AVAHI_CLIENT_S_COLLISION:
    case AVAHI_CLIENT_S_REGISTERING: /* the host name changed: register again once running */
        if (d->group) avahi_entry_group_reset(d->group);
        break;
    case AVAHI_CLIENT_CONNECTING:
        d->state = "waiting for the Avahi daemon";
        break;
    case AVAHI_CLIENT_FAILURE:
        if (avahi_client_errno(c) == AVAHI_ERR_DISCONNECTED) {
            /* The daemon went away: start over and wait for it to come back. */
            LOG_I("wyoming", "the Avahi daemon went away; advertising again when it is back");
            d->group = NULL; /* freed with the client */
            avahi_client_free(c);
            d->client = NULL;
            create_client(d);
        } else {
            d->state = "failed";
            LOG_W("wyoming", "zeroconf: %s", avahi_strerror(avahi_client_errno(c)));
        }
        break;
    }
}

/* Called with the poll lock held, or before the poll thread starts. */
static void create_client(wy_discovery *d) {
    int e = 0;
    d->state = "waiting for the Avahi daemon";
    d->client =
        avahi_client_new(avahi_threaded_poll_get(d->poll), AVAHI_CLIENT_NO_FAIL, client_cb, d, &e);
    if (!d->client) {
        d->state = "unavailable";
        LOG_W("wyoming",
              "zeroconf discovery unavailable: %s (Home Assistant can still add AXIOM by host and "
              "port)",
              avahi_strerror(e));
    }
}

/* Where the listener can be reached: the interface holding host's address. */
static void pick_interface(wy_discovery *d, const char *host) {
    d->iface = AVAHI_IF_UNSPEC;
    d->proto = AVAHI_PROTO_UNSPEC;
    struct in_addr a4;
    struct in6_addr a6;
    int v4 = inet_pton(AF_INET, host, &a4) == 1, v6 = !v4 && inet_pton(AF_INET6, host, &a6) == 1;
    if (strcmp(host, "localhost") == 0) {
        v4 = 1;
        inet_pton(AF_INET, "127.0.0.1", &a4);
    }
    if (v4) d->proto = AVAHI_PROTO_INET;
    if (v6) d->proto = AVAHI_PROTO_INET6;
    if ((v4 && a4.s_addr == htonl(INADDR_ANY)) || (v6 && IN6_IS_ADDR_UNSPECIFIED(&a6))) return;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0) return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        int hit = (v4 && i->ifa_addr->sa_family == AF_INET &&
                   ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == a4.s_addr) ||
                  (v6 && i->ifa_addr->sa_family == AF_INET6 &&
                   memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, &a6, sizeof a6) == 0);
        if (hit) {
            d->iface = (AvahiIfIndex)if_nametoindex(i->ifa_name);
            break;
        }
    }
    freeifaddrs(ifs);
}

wy_discovery *wy_discovery_start(const char *name, const char *host, int port, const char **state) {
    *state = "unavailable";
    wy_discovery *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->port = port;
    d->name = avahi_strdup(name);
    d->poll = avahi_threaded_poll_new();
    if (!d->name || !d->poll) {
        LOG_W("wyoming", "zeroconf discovery unavailable: out of memory");
        goto fail;
    }
    pick_interface(d, host);
    create_client(d);
    if (!d->client) goto fail;
    if (avahi_threaded_poll_start(d->poll) < 0) {
        LOG_W("wyoming", "zeroconf discovery unavailable: cannot start Avahi's thread");
        goto fail;
    }
    return d;
fail:
    if (d->client) avahi_client_free(d->client);
    if (d->poll) avahi_threaded_poll_free(d->poll);
    avahi_free(d->name);
    free(d);
    return NULL;
}

const char *wy_discovery_state(wy_discovery *d) {
    avahi_threaded_poll_lock(d->poll);
    const char *s = d->state;
    avahi_threaded_poll_unlock(d->poll);
    return s;
}

void wy_discovery_stop(wy_discovery *d) {
    if (!d) return;
    avahi_threaded_poll_stop(d->poll); /* joins the poll thread: no callback after this */
    if (d->client)
        avahi_client_free(d->client); /* frees the entry group: the service is withdrawn */
    avahi_threaded_poll_free(d->poll);
    avahi_free(d->name);
    free(d);
}
