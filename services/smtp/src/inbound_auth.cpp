// inbound_auth.cpp - SPF (libspf2), DKIM verification (libopendkim) and DMARC
// (libopendmarc) of inbound mail. See inbound_auth.hpp.
// SECURITY: DNS answers reach the libraries only through auth_dns (bounded, deadline);
// rdata is decoded with bounds checks; every library object is freed on every path.
// STANDARDS: RFC 7208, RFC 6376, RFC 8301, RFC 7489, RFC 8601.
#include "inbound_auth.hpp"

#include "dns.hpp"

#include "polder/log/log.hpp"
#include "polder/mime/fields.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>

extern "C" {
#include <spf2/spf.h>
}

// dkim.h spells C's boolean as _Bool, which C++ does not know; bool has the same ABI.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <opendmarc/dmarc.h>

// Exported by libopendmarc (the organisational domain from the loaded public suffix list)
// but missing from its header.
extern "C" int opendmarc_get_tld(u_char* domain, u_char* tld, size_t tld_len);

#include <algorithm>
#include <array>
#include <cstring>
#include <random>

namespace polder::smtpd {

namespace {

using clock = auth_dns::clock;
constexpr const char* public_suffix_list = "/usr/share/publicsuffix/public_suffix_list.dat";
constexpr std::size_t max_signatures = 8;   // signatures reported (and given to DMARC)

// libopendmarc keeps a pointer to its settings: they live as long as the process.
OPENDMARC_LIB_T dmarc_lib{};

// The deadline of the message being checked on this thread: the libraries call our DNS
// hooks synchronously from inside their own functions, with no context of ours.
thread_local clock::time_point current_deadline;

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// --- libspf2: our DNS layer ------------------------------------------------------------

SPF_dns_rr_t* spf_lookup(SPF_dns_server_t* layer, const char* domain, ns_type type, int /*should_cache*/) {
    auto* dns = static_cast<auth_dns*>(layer->hook);
    // RR type SPF (99) is obsolete (RFC 7208 3.1, 14.1): answer "no data" without asking,
    // so libspf2 goes on to TXT at once.
    if (type == static_cast<ns_type>(99)) return SPF_dns_rr_new_init(layer, domain, type, 0, NO_DATA);
    auto reply = dns->lookup(domain, static_cast<int>(type), current_deadline);
    switch (reply.status) {
        case dns_status::nxdomain: return SPF_dns_rr_new_init(layer, domain, type, 0, HOST_NOT_FOUND);
        case dns_status::nodata: return SPF_dns_rr_new_init(layer, domain, type, 0, NO_DATA);
        case dns_status::temporary: return SPF_dns_rr_new_init(layer, domain, type, 0, TRY_AGAIN);
        case dns_status::ok: break;
    }
    SPF_dns_rr_t* rr = SPF_dns_rr_new_init(layer, domain, type, 0, NETDB_SUCCESS);
    if (!rr) return nullptr;
    int n = 0;
    for (const auto& data : reply.rdata) {
        std::string value;   // what goes into rr->rr[n]
        std::span<const unsigned char> bytes(reinterpret_cast<const unsigned char*>(data.data()), data.size());
        if (type == ns_t_a) {
            if (data.size() != 4) continue;
            value = data;
        } else if (type == ns_t_aaaa) {
            if (data.size() != 16) continue;
            value = data;
        } else if (type == ns_t_mx) {
            if (data.size() < 3) continue;
            auto name = decode_name(bytes, 2);
            if (!name) continue;
            value = *name + '\0';
        } else if (type == ns_t_ptr) {
            auto name = decode_name(bytes, 0);
            if (!name) continue;
            value = *name + '\0';
        } else if (type == ns_t_txt) {
            value = txt_strings(data);
            if (value.find('\0') != std::string::npos) continue;   // cannot be an SPF record
            value += '\0';
        } else {
            continue;
        }
        if (SPF_dns_rr_buf_realloc(rr, n, value.size()) != SPF_E_SUCCESS) break;
        std::memcpy(rr->rr[n], value.data(), value.size());
        ++n;
    }
    rr->num_rr = n;
    if (n == 0) rr->herrno = NO_DATA;
    return rr;
}

// libspf2 reports through global handlers; ours go to the debug log (the default writes
// to stderr). The error handler (library invariants) stays libspf2's.
void spf_log(const char* file, int line, const char* msg) {
    log::debug("smtp.spf_library", {{"file", std::string(file ? file : "")}, {"line", static_cast<std::int64_t>(line)},
                                    {"message", std::string(msg ? msg : "")}});
}

const char* spf_word(SPF_result_t r);

// evaluate_spf - the check_host() of RFC 7208 for the request's MAIL FROM identity. This is
// SPF_request_query_mailfrom without its first step: libspf2 passes every client in
// 127.0.0.0/8 and ::1 unchecked ("localhost always gets a free ride"). On the MX listener
// a loopback peer is a proxy or a test, never a trusted local injector (local programs
// submit with AUTH), so its address is checked like any other. The rest is libspf2's own
// public API in the order the library uses it.
std::string evaluate_spf(SPF_server_t* server, SPF_request_t* sr, SPF_response_t*& resp) {
    resp = SPF_response_new(sr);
    if (!resp) return "temperror";
    sr->use_helo = 0;
    sr->cur_dom = sr->env_from_dp;
    if (!sr->cur_dom) return "permerror";
    SPF_record_t* record = nullptr;
    const SPF_errcode_t err = SPF_server_get_record(server, sr, resp, &record);
    if (err == SPF_E_SUCCESS && record) {
        resp->spf_record_exp = record;
        SPF_record_interpret(record, sr, resp, 0);
        resp->spf_record_exp = nullptr;
        SPF_record_free(record);
        if (resp->result == SPF_RESULT_INVALID) return "permerror";
        return spf_word(resp->result);
    }
    if (record) SPF_record_free(record);
    if (err == SPF_E_DNS_ERROR) return "temperror";   // RFC 7208 4.4: DNS trouble
    if (resp->result == SPF_RESULT_PERMERROR) return "permerror";   // several SPF records (4.5)
    // No record (NXDOMAIN, no TXT, no "v=spf1"): none. A record that does not compile
    // left a syntax error among the messages: permerror (4.6).
    for (int i = 0; i < SPF_response_messages(resp); ++i) {
        SPF_error_t* e = SPF_response_message(resp, i);
        if (e && SPF_error_errorp(e) && SPF_error_code(e) != SPF_E_NOT_SPF && SPF_error_code(e) != SPF_E_DNS_ERROR)
            return "permerror";
    }
    return "none";
}

const char* spf_word(SPF_result_t r) {
    switch (r) {
        case SPF_RESULT_PASS: return "pass";
        case SPF_RESULT_FAIL: return "fail";
        case SPF_RESULT_SOFTFAIL: return "softfail";
        case SPF_RESULT_NEUTRAL: return "neutral";
        case SPF_RESULT_NONE: return "none";
        case SPF_RESULT_TEMPERROR: return "temperror";
        case SPF_RESULT_PERMERROR: return "permerror";
        default: return "permerror";
    }
}

// --- libopendkim: our DNS hooks ----------------------------------------------------------

struct dkim_query {
    bool failed = false;
    std::size_t length = 0;
};

int dkim_hook_start(void* service, int type, unsigned char* query, unsigned char* buf, size_t buflen, void** qh) {
    auto* dns = static_cast<auth_dns*>(service);
    auto reply = dns->lookup(reinterpret_cast<const char*>(query), type, current_deadline);
    auto* q = new dkim_query;
    // libopendkim decodes the whole reply packet itself (rcode, answers, CNAMEs).
    if (reply.status == dns_status::temporary || reply.packet.empty() || reply.packet.size() > buflen) {
        q->failed = true;
    } else {
        std::memcpy(buf, reply.packet.data(), reply.packet.size());
        q->length = reply.packet.size();
    }
    *qh = q;
    return DKIM_DNS_SUCCESS;
}

int dkim_hook_cancel(void*, void* qh) {
    delete static_cast<dkim_query*>(qh);
    return DKIM_DNS_SUCCESS;
}

int dkim_hook_waitreply(void*, void* qh, struct timeval*, size_t* bytes, int* error, int* dnssec) {
    const auto* q = static_cast<const dkim_query*>(qh);
    if (error) *error = 0;
    if (dnssec) *dnssec = DKIM_DNSSEC_UNKNOWN;
    if (q->failed) return DKIM_DNS_ERROR;
    if (bytes) *bytes = q->length;
    return DKIM_DNS_SUCCESS;
}

void dkim_hook_close(void*) {}   // the service is our auth_dns; the checker owns it

struct dkim_outcome {
    std::string result;   // pass, fail, neutral, temperror, permerror
    std::string domain, selector, identity, comment;
};

int dkim_rank(std::string_view r) {
    if (r == "pass") return 6;
    if (r == "fail") return 5;
    if (r == "temperror") return 4;
    if (r == "permerror") return 3;
    if (r == "neutral") return 2;
    return 1;   // none
}

// --- the message -------------------------------------------------------------------------

// reader - the content in chunks, from memory or a blob.
class content_reader {
public:
    explicit content_reader(const message_source& src) : src_(src) {
        if (src.blobs) {
            auto r = src.blobs->open(src.id);
            if (r) blob_ = std::move(*r);
            else failed_ = true;
        }
    }
    bool failed() const { return failed_; }
    // next - the next chunk; empty at the end or on failure (see failed()).
    std::string_view next() {
        if (failed_) return {};
        if (!src_.blobs) {
            auto chunk = src_.memory.substr(pos_, std::min<std::size_t>(64 * 1024, src_.memory.size() - pos_));
            pos_ += chunk.size();
            return chunk;
        }
        buf_.resize(64 * 1024);
        auto n = blob_.read(std::as_writable_bytes(std::span<char>(buf_.data(), buf_.size())));
        if (!n) {
            failed_ = true;
            return {};
        }
        return std::string_view(buf_.data(), *n);
    }

private:
    const message_source& src_;
    blob::reader blob_;
    std::vector<char> buf_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

// from_domain - the RFC5322.From domain (RFC 7489 6.6.1): exactly one From field whose
// addresses all share one domain. Else nullopt with why.
std::optional<std::string> from_domain(std::string_view header_block, std::string& why) {
    std::optional<std::string> domain;
    int fields = 0;
    for (auto f : split_fields(header_block)) {
        auto name = field_name(f);
        if (name.size() != 4 || lower(name) != "from") continue;
        if (++fields > 1) {
            why = "multiple From fields";
            return std::nullopt;
        }
        const auto value = mime::unfold(f.substr(f.find(':') + 1));
        for (const auto& a : mime::parse_address_list(value, 50)) {
            if (!a.mailbox || !a.host || a.host->empty()) continue;
            auto d = lower(*a.host);
            if (domain && *domain != d) {
                why = "From addresses in different domains";
                return std::nullopt;
            }
            domain = d;
        }
    }
    if (!domain) why = fields == 0 ? "no From field" : "no domain in From";
    return domain;
}

// dmarc_record - the one "v=DMARC1" TXT record at name (RFC 7489 6.6.3 steps 1-5).
struct record_lookup {
    dns_status status = dns_status::nodata;
    std::optional<std::string> record;
};

record_lookup dmarc_record(auth_dns& dns, const std::string& domain) {
    record_lookup out;
    auto reply = dns.lookup("_dmarc." + domain, dns_type::txt, current_deadline);
    out.status = reply.status;
    if (reply.status != dns_status::ok) return out;
    int found = 0;
    for (const auto& r : reply.rdata) {
        auto text = txt_strings(r);
        // "v=DMARC1" must be the first tag, exactly (6.4); other TXT records are ignored.
        auto t = text;
        t.erase(std::remove_if(t.begin(), t.end(), [](char c) { return c == ' ' || c == '\t'; }), t.end());
        if (!t.starts_with("v=DMARC1;") && t != "v=DMARC1") continue;
        if (text.size() > 2048 || text.find('\0') != std::string::npos) continue;
        ++found;
        out.record = std::move(text);
    }
    if (found != 1) out.record.reset();   // several records: no policy (6.6.3 step 5)
    return out;
}

std::string dmarc_policy_word(int p) {
    switch (p) {
        case DMARC_RECORD_P_REJECT: return "reject";
        case DMARC_RECORD_P_QUARANTINE: return "quarantine";
        case DMARC_RECORD_P_NONE: return "none";
        default: return "";
    }
}

auto* uc(const std::string& s) { return reinterpret_cast<unsigned char*>(const_cast<char*>(s.c_str())); }

// run_check - a coroutine function (not a lambda) for co_spawn (GCC 12, see rules).
awaitable<auth_verdict> run_check(inbound_checker* self, auth_request req, message_source src) {
    co_return self->check(req, src);
}

}  // namespace

inbound_auth_mode parse_inbound_auth_mode(std::string_view text) {
    if (text == "off") return inbound_auth_mode::off;
    if (text == "enforce") return inbound_auth_mode::enforce;
    return inbound_auth_mode::mark;
}

result<std::unique_ptr<inbound_checker>> inbound_checker::create(const config::smtp_settings& s) {
    std::unique_ptr<inbound_checker> c(new inbound_checker);
    c->hostname_ = s.hostname;
    c->timeout_ = std::chrono::seconds(s.inbound_auth_timeout_seconds);
    auto dns = auth_dns::create(s.dns_resolver);
    if (!dns) return dns.error();
    c->dns_ = std::move(*dns);

    SPF_warning_handler = spf_log;
    SPF_info_handler = spf_log;
    SPF_debug_handler = spf_log;
    auto* layer = static_cast<SPF_dns_server_t*>(std::calloc(1, sizeof(SPF_dns_server_t)));
    if (!layer) return errc::internal;
    layer->destroy = nullptr;   // ours: freed in the destructor, after SPF_server_free
    layer->lookup = spf_lookup;
    layer->name = "polder";
    layer->hook = c->dns_.get();
    c->spf_ = SPF_server_new_dns(layer, 0);
    if (!c->spf_) {
        std::free(layer);
        log::error("smtp.inbound_auth_setup_failed", {{"library", "libspf2"}});
        return errc::internal;
    }
    c->spf_dns_layer_ = layer;
    if (SPF_server_set_rec_dom(c->spf_, s.hostname.c_str()) != SPF_E_SUCCESS) return errc::internal;

    c->dkim_ = dkim_init(nullptr, nullptr);
    if (!c->dkim_) {
        log::error("smtp.inbound_auth_setup_failed", {{"library", "libopendkim"}});
        return errc::internal;
    }
    unsigned min_bits = 1024;   // RFC 8301 3.2: smaller RSA keys MUST NOT be considered valid
    if (dkim_options(c->dkim_, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &min_bits, sizeof min_bits) != DKIM_STAT_OK)
        return errc::internal;
    // Shut the library's own resolver (libresolv) should it have started one, then route
    // its key queries through auth_dns.
    dkim_dns_close(c->dkim_);
    dkim_dns_set_close(c->dkim_, dkim_hook_close);
    dkim_dns_set_query_service(c->dkim_, c->dns_.get());
    dkim_dns_set_query_start(c->dkim_, dkim_hook_start);
    dkim_dns_set_query_cancel(c->dkim_, dkim_hook_cancel);
    dkim_dns_set_query_waitreply(c->dkim_, dkim_hook_waitreply);

    dmarc_lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
    std::strncpy(reinterpret_cast<char*>(dmarc_lib.tld_source_file), public_suffix_list,
                 sizeof dmarc_lib.tld_source_file - 1);
    if (opendmarc_policy_library_init(&dmarc_lib) != DMARC_PARSE_OKAY) {
        log::error("smtp.inbound_auth_setup_failed",
                   {{"library", "libopendmarc"}, {"file", std::string(public_suffix_list)}});
        return errc::internal;
    }
    c->dmarc_ready_ = true;
    c->threads_ = std::make_unique<asio::thread_pool>(4);
    return c;
}

inbound_checker::~inbound_checker() {
    if (threads_) threads_->join();
    if (spf_) SPF_server_free(spf_);
    std::free(spf_dns_layer_);   // a layer without destroy hook is left to its owner
    if (dkim_) dkim_close(dkim_);
    if (dmarc_ready_) {
        opendmarc_policy_library_shutdown(&dmarc_lib);
    }
}

awaitable<auth_verdict> inbound_checker::check_async(auth_request req, message_source src) {
    co_return co_await asio::co_spawn(threads_->get_executor(), run_check(this, std::move(req), src), use_awaitable);
}

auth_verdict inbound_checker::check(const auth_request& req, const message_source& src) {
    auth_verdict v;
    current_deadline = clock::now() + timeout_;
    std::vector<resinfo> results;

    // --- SPF (RFC 7208) ---
    std::string spf_domain;
    int spf_origin = DMARC_POLICY_SPF_ORIGIN_MAILFROM;
    {
        resinfo r{"spf", "none", {}, {}};
        std::string identity;
        if (req.mail_from) {
            identity = *req.mail_from;
            spf_domain = lower(identity.substr(identity.rfind('@') + 1));
            r.props.push_back({"smtp.mailfrom", spf_domain});
        } else {
            // RFC 7208 2.4: the null reverse-path is checked as postmaster@<HELO>.
            spf_domain = lower(req.helo);
            identity = "postmaster@" + spf_domain;
            spf_origin = DMARC_POLICY_SPF_ORIGIN_HELO;
            r.props.push_back({"smtp.helo", spf_domain});
        }
        SPF_request_t* sr = SPF_request_new(spf_);
        SPF_response_t* resp = nullptr;
        auto address = req.peer_address;
        boost::system::error_code ec;
        auto ip = asio::ip::make_address(address, ec);
        if (!ec && ip.is_v6() && ip.to_v6().is_v4_mapped())
            address = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6()).to_string();
        const bool v6 = !ec && ip.is_v6() && !ip.to_v6().is_v4_mapped();
        bool usable = sr && !ec && !spf_domain.empty() && spf_domain.front() != '[';
        if (usable) {
            usable = (v6 ? SPF_request_set_ipv6_str(sr, address.c_str()) : SPF_request_set_ipv4_str(sr, address.c_str())) ==
                         SPF_E_SUCCESS &&
                     SPF_request_set_env_from(sr, identity.c_str()) == 0;
            if (usable && !req.helo.empty()) SPF_request_set_helo_dom(sr, req.helo.c_str());
        }
        if (usable) r.result = evaluate_spf(spf_, sr, resp);
        else if (!spf_domain.empty() && spf_domain.front() != '[') {
            r.result = "permerror";   // an identity libspf2 cannot take (RFC 7208 4.3)
        }
        if (resp) SPF_response_free(resp);
        if (sr) SPF_request_free(sr);
        v.spf = r.result;
        results.push_back(std::move(r));
    }

    // --- read the message: DKIM (RFC 6376) and the header section ---
    std::vector<dkim_outcome> sigs;
    {
        DKIM_STAT status = DKIM_STAT_OK;
        DKIM* d = dkim_verify(dkim_, reinterpret_cast<const unsigned char*>(req.job.c_str()), nullptr, &status);
        bool feeding = d && status == DKIM_STAT_OK;
        std::string header;
        bool header_done = false;
        content_reader in(src);
        std::size_t total = 0;
        for (;;) {
            auto chunk = in.next();
            if (chunk.empty()) break;
            if (!header_done) {
                // Keep the header section (plus up to one chunk beyond it) to find its end.
                header.append(chunk);
                const auto end = header_end(header);
                if (end < header.size() || header.ends_with("\r\n\r\n") || header.starts_with("\r\n")) {
                    header_done = true;
                    header.resize(end);
                } else if (header.size() > max_header_bytes) {
                    v.header_too_large = true;
                    break;
                }
            }
            total += chunk.size();
            if (feeding) {
                status = dkim_chunk(d, reinterpret_cast<unsigned char*>(const_cast<char*>(chunk.data())), chunk.size());
                if (status != DKIM_STAT_OK) feeding = false;
            }
        }
        if (in.failed()) v.read_failed = true;
        if (!header_done && !v.header_too_large) {
            header.resize(header_end(header));   // no body: the whole message is header
        }
        if (v.header_too_large || v.read_failed) {
            if (d) dkim_free(d);
            return v;
        }
        v.header_size = header.size();
        v.header_block = remove_forged_results(header, hostname_, &v.forged_removed);

        if (d && feeding) status = dkim_chunk(d, nullptr, 0);
        if (d && status == DKIM_STAT_OK) status = dkim_eom(d, nullptr);
        if (!d) {
            sigs.push_back({"temperror", {}, {}, {}, "verifier unavailable"});
        } else {
            DKIM_SIGINFO** list = nullptr;
            int n = 0;
            if (status != DKIM_STAT_NOSIG && dkim_getsiglist(d, &list, &n) == DKIM_STAT_OK && list) {
                for (int i = 0; i < n && sigs.size() < max_signatures; ++i) {
                    DKIM_SIGINFO* sig = list[i];
                    dkim_outcome o;
                    if (auto* dom = dkim_sig_getdomain(sig)) o.domain = lower(reinterpret_cast<const char*>(dom));
                    if (auto* sel = dkim_sig_getselector(sig)) o.selector = reinterpret_cast<const char*>(sel);
                    std::array<unsigned char, 512> ident{};
                    if (dkim_sig_getidentity(d, sig, ident.data(), ident.size() - 1) == DKIM_STAT_OK)
                        o.identity = reinterpret_cast<const char*>(ident.data());
                    const unsigned flags = dkim_sig_getflags(sig);
                    const int bh = dkim_sig_getbh(sig);
                    const int err = dkim_sig_geterror(sig);
                    if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH) {
                        o.result = "pass";
                    } else if (err == DKIM_SIGERROR_KEYFAIL) {
                        o.result = "temperror";
                    } else if (bh == DKIM_SIGBH_MISMATCH || err == DKIM_SIGERROR_BADSIG || err == DKIM_SIGERROR_OK) {
                        o.result = "fail";
                        o.comment = bh == DKIM_SIGBH_MISMATCH ? "body hash did not verify" : "signature did not verify";
                    } else {
                        o.result = "permerror";
                    }
                    if (o.result != "pass" && o.comment.empty() && err != DKIM_SIGERROR_OK) {
                        if (const char* why = dkim_sig_geterrorstr(err)) o.comment = why;
                    }
                    sigs.push_back(std::move(o));
                }
            } else if (status != DKIM_STAT_NOSIG && status != DKIM_STAT_OK) {
                // The message could not be parsed for verification (e.g. a malformed header).
                const char* why = dkim_geterror(d);
                sigs.push_back({"permerror", {}, {}, {}, why ? why : dkim_getresultstr(status)});
            }
            dkim_free(d);
        }
        if (sigs.empty()) {
            results.push_back({"dkim", "none", {}, {}});
        } else {
            for (const auto& o : sigs) {
                resinfo r{"dkim", o.result, o.comment, {}};
                if (!o.domain.empty()) r.props.push_back({"header.d", o.domain});
                if (!o.identity.empty()) r.props.push_back({"header.i", o.identity});
                if (!o.selector.empty()) r.props.push_back({"header.s", o.selector});
                if (dkim_rank(o.result) > dkim_rank(v.dkim)) v.dkim = o.result;
                results.push_back(std::move(r));
            }
        }
    }

    // --- DMARC (RFC 7489) ---
    {
        resinfo r{"dmarc", "none", {}, {}};
        std::string why;
        auto from = from_domain(v.header_block, why);
        if (!from) {
            r.result = "permerror";   // 6.6.1: no single From domain to evaluate
            r.comment = why;
        } else {
            r.props.push_back({"header.from", *from});
            auto found = dmarc_record(*dns_, *from);
            std::optional<std::string> org;
            if (!found.record && found.status != dns_status::temporary) {
                std::array<unsigned char, 256> tld{};
                if (opendmarc_get_tld(uc(*from), tld.data(), tld.size() - 1) == 0) {
                    std::string o = lower(reinterpret_cast<const char*>(tld.data()));
                    if (!o.empty() && o != *from) {
                        org = o;
                        found = dmarc_record(*dns_, o);
                    }
                }
            }
            if (found.status == dns_status::temporary) {
                r.result = "temperror";
                r.comment = "DNS lookup of the policy failed";
            } else if (found.record) {
                DMARC_POLICY_T* p = opendmarc_policy_connect_init(uc(req.peer_address), req.peer_address.find(':') != std::string::npos);
                if (!p) {
                    r.result = "temperror";
                } else if (opendmarc_policy_store_from_domain(p, uc(*from)) != DMARC_PARSE_OKAY ||
                           opendmarc_policy_store_dmarc(p, uc(*found.record), uc(*from), org ? uc(*org) : nullptr) !=
                               DMARC_PARSE_OKAY) {
                    r.result = "permerror";
                    r.comment = "invalid policy record";
                } else {
                    int spf_outcome = DMARC_POLICY_SPF_OUTCOME_FAIL;
                    if (v.spf == "pass") spf_outcome = DMARC_POLICY_SPF_OUTCOME_PASS;
                    else if (v.spf == "temperror") spf_outcome = DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
                    else if (v.spf == "none") spf_outcome = DMARC_POLICY_SPF_OUTCOME_NONE;
                    if (!spf_domain.empty())
                        opendmarc_policy_store_spf(p, uc(spf_domain), spf_outcome, spf_origin, nullptr);
                    bool temporary = v.spf == "temperror";
                    for (const auto& o : sigs) {
                        if (o.domain.empty()) continue;
                        int outcome = DMARC_POLICY_DKIM_OUTCOME_FAIL;
                        if (o.result == "pass") outcome = DMARC_POLICY_DKIM_OUTCOME_PASS;
                        else if (o.result == "temperror") outcome = DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
                        if (o.result == "temperror") temporary = true;
                        opendmarc_policy_store_dkim(p, uc(o.domain), uc(o.selector), outcome, nullptr);
                    }
                    const auto policy = opendmarc_get_policy_to_enforce(p);
                    int pv = 0, spv = 0, pct = 100;
                    opendmarc_policy_fetch_p(p, &pv);
                    opendmarc_policy_fetch_sp(p, &spv);
                    opendmarc_policy_fetch_pct(p, &pct);
                    std::string comment = "p=" + dmarc_policy_word(pv);
                    if (!dmarc_policy_word(spv).empty()) comment += " sp=" + dmarc_policy_word(spv);
                    if (policy == DMARC_POLICY_PASS) {
                        r.result = "pass";
                    } else if (temporary) {
                        r.result = "temperror";   // a retry may pass; never act on our DNS trouble
                    } else if (policy == DMARC_POLICY_REJECT || policy == DMARC_POLICY_QUARANTINE ||
                               policy == DMARC_POLICY_NONE) {
                        r.result = "fail";
                        auto dis = policy == DMARC_POLICY_REJECT       ? dmarc_disposition::reject
                                   : policy == DMARC_POLICY_QUARANTINE ? dmarc_disposition::quarantine
                                                                       : dmarc_disposition::none;
                        if (dis != dmarc_disposition::none && pct >= 0 && pct < 100) {
                            static thread_local std::mt19937 rng{std::random_device{}()};
                            if (static_cast<int>(std::uniform_int_distribution<int>(0, 99)(rng)) >= pct)
                                dis = dis == dmarc_disposition::reject ? dmarc_disposition::quarantine
                                                                       : dmarc_disposition::none;   // 6.6.4
                        }
                        v.disposition = dis;
                        comment += std::string(" dis=") +
                                   (dis == dmarc_disposition::reject       ? "reject"
                                    : dis == dmarc_disposition::quarantine ? "quarantine"
                                                                           : "none");
                    } else {
                        r.result = "permerror";
                    }
                    r.comment = comment;
                }
                opendmarc_policy_connect_shutdown(p);
            }
        }
        v.dmarc = r.result;
        results.push_back(std::move(r));
    }
    v.field = authentication_results_field(hostname_, results);
    return v;
}

}  // namespace polder::smtpd
