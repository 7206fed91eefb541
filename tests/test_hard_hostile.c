/* Hostile and broken clients against a real in-process server on loopback, while a
 * well-behaved client keeps asking typed questions: 10x the session limit, a client
 * that never reads, a frame sent byte by byte, a 100 MB frame, text where audio is
 * expected and the reverse, disconnects in the middle of a frame, a foreign Origin,
 * ../ paths and a 100 KB URL. Each must be refused cleanly, and the good client must
 * get every answer throughout. Its latency with and without the attack is printed by
 * bench_hostile, not asserted here. */
#include "check.h"
#include "support/hostile.h"
#include "support/server_fixture.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const settings[] = {"server.max_sessions=4", "server.send_queue_kb=16",
                                       "tts.backend=none",      "mode=template-only",
                                       "vad.backend=energy",    NULL};

static void test_hostile_clients_refused_good_client_served(void) {
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    good_client g;
    CHECK(good_client_start(&g, f.port) == 0);
    /* Let the good client hold its session before the flood takes the rest. */
    for (int i = 0; i < 100 && g.answered == 0 && g.failed == 0; i++)
        usleep(100 * 1000);
    CHECK_MSG(g.answered > 0, "the good client got no answer before the attack: %s", g.last_error);
    long rss0 = hostile_rss_kb();
    hostile_result r;
    hostile_run(f.port, 4, &r);
    long rss1 = hostile_rss_kb();
    int before = g.answered;
    usleep(1500 * 1000);
    good_client_stop(&g);
    printf("  flood: %d opened, %d busy; slow reader dropped %d; byte-wise hello %d; "
           "100 MB frame close %d; binary JSON ok %d; text PCM refused %d; mid-frame ok %d; "
           "foreign Origin %d; ../ %d (leak %d); 100 KB URL %d\n",
           r.flood_opened, r.flood_busy, r.slow_reader_dropped, r.bytewise_hello_answered,
           r.huge_frame_close, r.text_as_audio_ok, r.audio_as_text_error, r.mid_frame_disconnect_ok,
           r.foreign_origin_status, r.dotdot_status, r.dotdot_leaked, r.overlong_status);
    printf("  good client: %d asked, %d answered (%d during the attack), %d failed; "
           "RSS %ld -> %ld KiB\n",
           g.asked, g.answered, before, g.failed, rss0, rss1);
    /* 40 tries at 4 slots, one held by the good client: at most 3 get in. */
    CHECK_MSG(r.flood_busy >= 37, "busy closes: %d of %d", r.flood_busy, r.flood_opened);
    CHECK(r.slow_reader_dropped);
    CHECK(r.bytewise_hello_answered);
    CHECK_EQ_INT(r.huge_frame_close, 1009);
    CHECK(r.text_as_audio_ok);
    CHECK(r.audio_as_text_error);
    CHECK(r.mid_frame_disconnect_ok);
    CHECK_EQ_INT(r.foreign_origin_status, 403);
    CHECK(r.dotdot_status == 403 || r.dotdot_status == 404 || r.dotdot_status == 400);
    CHECK(!r.dotdot_leaked);
    CHECK(r.overlong_status != 200);
    CHECK_MSG(g.failed == 0, "the good client failed: %s", g.last_error);
    CHECK(g.answered > 1);
    fixture_stop(&f);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_hostile_clients_refused_good_client_served);
    return CHECK_DONE(argv[0]);
}
