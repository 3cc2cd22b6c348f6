// test_gmime_crosscheck.cpp - our part offsets against GMime's own parser: for the
// well-formed test messages, every leaf body we find must be exactly the byte range
// GMime's parser gives its content stream (bound_start/bound_end of the persisted
// substream), in the same order. GMime is the reference implementation here.
#include <catch2/catch.hpp>

#include "mail_fixture.hpp"

#include <gmime/gmime.h>

#include <utility>
#include <vector>

using range = std::pair<std::int64_t, std::int64_t>;

namespace {

void gmime_leaves(GMimeObject* o, std::vector<range>& out) {
    if (GMIME_IS_MULTIPART(o)) {
        auto* mp = GMIME_MULTIPART(o);
        for (int i = 0; i < g_mime_multipart_get_count(mp); ++i) gmime_leaves(g_mime_multipart_get_part(mp, i), out);
    } else if (GMIME_IS_MESSAGE_PART(o)) {
        GMimeMessage* msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
        if (msg && g_mime_message_get_mime_part(msg)) gmime_leaves(g_mime_message_get_mime_part(msg), out);
    } else if (GMIME_IS_PART(o)) {
        GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(o));
        REQUIRE(w);
        GMimeStream* s = g_mime_data_wrapper_get_stream(w);
        out.emplace_back(s->bound_start, s->bound_end);
    }
}

void our_leaves(const polder::mime::body_part& p, std::vector<range>& out) {
    if (!p.children.empty()) {
        for (const auto& c : p.children) our_leaves(c, out);
        return;
    }
    out.emplace_back(static_cast<std::int64_t>(p.body_start), static_cast<std::int64_t>(p.body_end));
}

}  // namespace

TEST_CASE("mime part offsets agree with GMime's parser on well-formed messages") {
    g_mime_init();
    for (const char* name : {"simple.eml", "alternative.eml", "mixed_attachment.eml", "nested_rfc822.eml",
                             "encoded_words.eml", "bad_charset.eml", "lf_only.eml", "digest.eml", "rfc3501_example.eml"}) {
        INFO(name);
        std::string raw = polder_test::read_mail(name);
        GMimeStream* stream = g_mime_stream_mem_new_with_buffer(raw.data(), raw.size());
        GMimeParser* parser = g_mime_parser_new_with_stream(stream);
        GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
        REQUIRE(msg);
        std::vector<range> theirs, ours;
        gmime_leaves(g_mime_message_get_mime_part(msg), theirs);
        our_leaves(polder::mime::parse(raw).body, ours);
        CHECK(ours == theirs);
        g_object_unref(msg);
        g_object_unref(parser);
        g_object_unref(stream);
    }
}
