// axiom.h from C++17 (built as BUILD/tests/test_api_cxx with -Wall -Wextra -Werror,
// linked to libaxiom.so): the header compiles as C++ (extern "C", no C-only syntax),
// its handles fit RAII, a lambda is a sentence callback, and a typed question on the
// default pack is answered.
#include "axiom.h"
#include "check.h"

#include <climits>
#include <cstdlib>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

static_assert(AXIOM_VERSION_NUMBER >= AXIOM_MAKE_VERSION(0, 2, 0), "axiom.h is at least 0.2.0");
static_assert(AXIOM_EVENT_READY > AXIOM_EVENT_SPEECH_START, "event types are an ordered C enum");

namespace {

struct config_free {
    void operator()(axiom_config *c) const { axiom_config_free(c); }
};
struct engine_free {
    void operator()(axiom_engine *e) const { axiom_engine_free(e); }
};
struct session_free {
    void operator()(axiom_session *s) const { axiom_session_free(s); }
};
using config_ptr = std::unique_ptr<axiom_config, config_free>;
using engine_ptr = std::unique_ptr<axiom_engine, engine_free>;
using session_ptr = std::unique_ptr<axiom_session, session_free>;

std::string root_dir() {
    const char *env = std::getenv("AXIOM_ROOT");
    if (env && *env) return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    std::string p(exe, n > 0 ? static_cast<size_t>(n) : 0);
    for (int up = 0; up < 3; up++)
        p = p.substr(0, p.rfind('/')); // BUILD/tests/program
    return p;
}

std::string tmp_dir;

void test_ask_from_cxx() {
    const std::string root = root_dir();
    struct stat st;
    if (stat((root + "/data/pack.json").c_str(), &st) != 0)
        SKIP("the default pack (data/pack.json) is absent");
    char err[1024] = "";
    config_ptr cfg(axiom_config_new());
    CHECK(cfg != nullptr);
    if (!cfg) return;
    const std::pair<const char *, std::string> settings[] = {{"data", root + "/data"},
                                                             {"cache_dir", tmp_dir + "/cache"},
                                                             {"log_level", "warn"},
                                                             {"tts.backend", "none"}};
    for (const auto &kv : settings)
        CHECK_MSG(axiom_config_set(cfg.get(), kv.first, kv.second.c_str(), err, sizeof err) == 0,
                  "%s", err);
    engine_ptr engine(axiom_engine_new(cfg.get(), err, sizeof err));
    CHECK_MSG(engine != nullptr, "engine: %s", err);
    if (!engine) return;
    session_ptr session(axiom_session_new(engine.get()));
    CHECK(session != nullptr);
    if (!session) return;

    std::vector<std::string> streamed;
    axiom_sentence_fn on_sentence = [](void *user, const char *sentence) {
        static_cast<std::vector<std::string> *>(user)->emplace_back(sentence);
    };
    axiom_reply reply{};
    int rc = axiom_ask(engine.get(), session.get(), "tell me about the robot dog", on_sentence,
                       &streamed, nullptr, &reply, err, sizeof err);
    CHECK_MSG(rc == 0, "ask: %s", err);
    if (rc != 0) return;
    const std::string text = reply.text, path = reply.path;
    CHECK_MSG(text.size() > 10, "answer '%s'", text.c_str());
    CHECK_MSG(path == "template" || path == "retrieval", "path '%s'", path.c_str());
    CHECK(std::string(reply.intent) != "");
    CHECK(reply.card_index >= 0); // the robot dog is one of the pack's items
    CHECK(!streamed.empty());
    CHECK_EQ_INT(reply.llm_us, 0);
    axiom_reply_free(&reply);
    CHECK(reply.text == nullptr); // a freed reply is emptied
}

} // namespace

int main(int, char **argv) {
    const char *td = std::getenv("TMPDIR");
    std::string tmpl = std::string(td && *td ? td : "/tmp") + "/axiom-api-cxx-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) {
        perror("mkdtemp");
        return 1;
    }
    tmp_dir = buf.data();
    RUN(test_ask_from_cxx);
    if (std::system(("rm -rf '" + tmp_dir + "'").c_str()) != 0)
        fprintf(stderr, "  could not remove %s\n", tmp_dir.c_str());
    return CHECK_DONE(argv[0]);
}
