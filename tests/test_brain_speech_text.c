/* Speech shaping (markdown, units, symbols, Unicode) and the incremental sentence
 * splitter, including token-by-token feeding the way an LLM stream arrives. */
#include "brain/speech_text.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static void check_shape(const char *in, const char *want) {
    char *got = speech_shape(in);
    CHECK_MSG(got && strcmp(got, want) == 0, "shape(\"%s\") = \"%s\", want \"%s\"", in,
              got ? got : "(null)", want);
    free(got);
}

static void test_shape_units(void) {
    check_shape("The lidar reaches 5m.", "The lidar reaches 5 meters.");
    check_shape("It does 40 TOPS of AI.", "It does 40 tera operations per second of AI.");
    check_shape("Battery at 80%", "Battery at 80 percent");
    check_shape("Keep it under 45\xC2\xB0"
                "C",
                "Keep it under 45 degrees Celsius");
    check_shape("Power: 7-15W", "Power: 7 to 15 watts");
    check_shape("RAM: 8GB LPDDR5 @68GB/s", "RAM: 8 gigabytes LPDDR5 at 68 gigabytes per second");
    check_shape("1 m long", "1 meter long");
    check_shape("Size: 69.6x45mm", "Size: 69.6 by 45 millimeters");
    check_shape("8000 samples/sec", "8000 samples per second");
    check_shape("Pi 5 and C++ & ROS", "Pi 5 and C plus plus and ROS");
    /* version numbers and model names stay intact */
    check_shape("ROS2 v2.1 on a D435i", "ROS2 v2.1 on a D435i");
}

static void test_shape_markdown(void) {
    check_shape("**Bold** and *italic* and `code`", "Bold and italic and code");
    check_shape("## Setup\n- plug in the cable\n- power it on",
                "Setup. plug in the cable. power it on");
    check_shape("See [the manual](http://x/y) now", "See the manual now");
    check_shape("1. Flash the card\n2. Boot", "Flash the card. Boot");
    check_shape("```\ncode here\n```\nDone.", "Done.");
    check_shape("snake_case_name", "snake case name");
}

static void test_shape_unicode(void) {
    check_shape("The built\xE2\x80\x91in sensor\xE2\x80\x99s 5\xE2\x80\xAFV logic",
                "The built-in sensor's 5 volts logic");
    check_shape("Great \xF0\x9F\x98\x80 robot", "Great robot");
    check_shape("a \xE2\x80\x94 b", "a, b");
    check_shape("", "");
    char *n = speech_shape(NULL);
    CHECK_STR(n, "");
    free(n);
}

typedef struct {
    char out[16][256];
    int n;
} collected;

static void collect(void *user, const char *s) {
    collected *c = user;
    if (c->n < 16) snprintf(c->out[c->n], sizeof c->out[0], "%s", s);
    c->n++;
}

static void test_split_whole(void) {
    collected c = {0};
    int n = speech_split_all("Use it e.g. for SLAM. Dr. Rao owns it. Pi 3.5 inches, v2.1 firmware! "
                             "Really? Yes.",
                             collect, &c);
    CHECK_EQ_INT(n, 5);
    CHECK_STR(c.out[0], "Use it e.g. for SLAM.");
    CHECK_STR(c.out[1], "Dr. Rao owns it.");
    CHECK_STR(c.out[2], "Pi 3.5 inches, v2.1 firmware!");
    CHECK_STR(c.out[3], "Really?");
    CHECK_STR(c.out[4], "Yes.");
}

static void test_split_stream_tokens(void) {
    /* LLM-like tokens: boundaries fall inside pieces and the sentence is only emitted
     * once the following character is seen. */
    const char *toks[] = {"The",   " Jet", "son",   " has", " 8", " GB", ".",  " It",
                          " runs", " ROS", "2",     " e",   ".",  "g",   ".",  " Hum",
                          "ble",   ".",    " Wait", " 3",   ".",  "5",   " s."};
    sentence_splitter *s = splitter_new(0);
    collected c = {0};
    int after_dot = -1;
    for (size_t i = 0; i < sizeof toks / sizeof toks[0]; i++) {
        splitter_feed(s, toks[i], strlen(toks[i]), collect, &c);
        if (i == 6) after_dot = c.n; /* "." just fed: not yet certain */
    }
    CHECK_EQ_INT(after_dot, 0);
    CHECK_EQ_INT(c.n, 2);
    splitter_flush(s, collect, &c);
    CHECK_EQ_INT(c.n, 3);
    CHECK_STR(c.out[0], "The Jetson has 8 GB.");
    CHECK_STR(c.out[1], "It runs ROS2 e.g. Humble.");
    CHECK_STR(c.out[2], "Wait 3.5 s.");
    /* the splitter is reusable after flush */
    splitter_feed(s, "Again. Ok", 9, collect, &c);
    splitter_flush(s, collect, &c);
    CHECK_EQ_INT(c.n, 5);
    CHECK_STR(c.out[4], "Ok");
    splitter_free(s);
}

static void test_split_runon_and_lowercase(void) {
    collected c = {0};
    /* lower-case after a period: not a new sentence (a common ASR/LLM artefact) */
    speech_split_all("Approx. five of them. and more", collect, &c);
    CHECK_EQ_INT(c.n, 1);
    c.n = 0;
    char big[1200];
    size_t k = 0;
    while (k + 6 < sizeof big - 1) {
        memcpy(big + k, "word, ", 6);
        k += 6;
    }
    big[k] = 0;
    sentence_splitter *s = splitter_new(100);
    splitter_feed(s, big, k, collect, &c);
    splitter_flush(s, collect, &c);
    splitter_free(s);
    CHECK(c.n >= 10);
    for (int i = 0; i < c.n && i < 16; i++)
        CHECK(strlen(c.out[i]) <= 101);
    c.n = 0;
    CHECK_EQ_INT(speech_split_all("   ", collect, &c), 0);
    CHECK_EQ_INT(speech_split_all("No terminator", collect, &c), 1);
    CHECK_STR(c.out[0], "No terminator");
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_shape_units);
    RUN(test_shape_markdown);
    RUN(test_shape_unicode);
    RUN(test_split_whole);
    RUN(test_split_stream_tokens);
    RUN(test_split_runon_and_lowercase);
    return CHECK_DONE(argv[0]);
}
