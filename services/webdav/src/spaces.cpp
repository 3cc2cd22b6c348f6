// spaces.cpp - which tree a URL names for the signed-in account: the own
// home (/dav/files/<own address>/), a team folder (/dav/teams/<name>/) or a
// folder shared with them (/dav/shared/<owner>/<share name>/), and how home
// paths map back to URLs of that tree.
//
// SECURITY: a space is resolved from the principal's account and
// organisation ids only: another account's home URL is 404 whatever exists;
// a team folder resolves only for a member of its group and a share only for
// its sharee (or a member of the sharee group), both inside the principal's
// organisation; anything else is 404 too, so nobody can probe names. A read-
// only share yields writable = false, which handle() and COPY/MOVE enforce on
// every method that changes something. Paths of a share are confined to the
// shared folder: request paths are joined below its root, and home paths
// outside it are never turned into URLs of it.
// STANDARDS: RFC 4918 8.3 (URLs), RFC 3986.
#include "service.hpp"

#include "polder/auth/names.hpp"
#include "polder/http/uri.hpp"

#include <algorithm>

namespace polder::webdav {

std::optional<std::string> space::relative(std::string_view home_path) const {
    if (root.empty()) return std::string(home_path);
    if (home_path == root) return std::string();
    if (home_path.size() > root.size() && home_path.starts_with(root) && home_path[root.size()] == '/')
        return std::string(home_path.substr(root.size() + 1));
    return std::nullopt;
}

std::string space::href(std::string_view home_path, bool collection) const {
    auto rel = relative(home_path);
    return href_under(url_root, rel.value_or(std::string()), rel ? collection : true);
}

awaitable<std::optional<space>> service::resolve_space(const auth::principal& who, const dav_path& p) {
    space sp;
    sp.where = p.where;
    if (p.where == area::files) {
        const std::string own = auth::to_lower_ascii(who.address);
        if (p.address != own) co_return std::nullopt;
        sp.url_root = std::string(files_prefix) + http::percent_encode_path(own) + "/";
        sp.display = own;
        co_return sp;
    }
    if (p.where == area::teams) {
        auto team = co_await pool_.transact([&](pqxx::work& tx) {
            return store::team_for_member(tx, who.org_id, who.account_id, p.address);
        });
        if (!team) co_return std::nullopt;
        sp.home_id = team->home_id;
        sp.url_root = std::string(teams_prefix) + http::percent_encode_path(team->name) + "/";
        sp.display = team->name;
        co_return sp;
    }
    auto mounts = co_await pool_.transact([&](pqxx::work& tx) {
        return store::shares_for(tx, who.org_id, who.account_id, p.address, p.mount);
    });
    if (mounts.empty()) co_return std::nullopt;
    const auto& m = mounts.front();
    sp.home_id = m.home_id;
    sp.root = m.path;
    sp.writable = m.writable;
    sp.url_root = std::string(shared_prefix) + http::percent_encode_path(m.owner) + "/" +
                  http::percent_encode_path(m.name) + "/";
    sp.display = m.name;
    co_return sp;
}

home service::open_home(pqxx::work& tx, const auth::principal& who, space& sp) {
    if (sp.home_id != 0) return store::home_by_id(tx, sp.home_id);
    home h = store::home_for_account(tx, who.account_id, who.org_id);
    sp.home_id = h.id;   // for If evaluation and later statements of this request
    return h;
}

}  // namespace polder::webdav
