// cmd_quota.cpp - polderctl quota set: a user's storage quota.
//
// SECURITY: sizes are parsed strictly (binary units, no overflow past bigint);
// the change and its audit event (with the previous value) are one transaction.
// STANDARDS: IEC 80000-13 binary prefixes.
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/size.hpp"

#include <iostream>

namespace polder::admin {

void add_quota_commands(CLI::App& app, action& chosen) {
    auto* quota = app.add_subcommand("quota", "Manage storage quotas");
    quota->require_subcommand(1);
    struct args_t {
        std::string address, size, org;
    };
    auto args = std::make_shared<args_t>();
    auto* sub = quota->add_subcommand("set", "Set a user's storage quota");
    sub->add_option("address", args->address, "The user's address")->required();
    sub->add_option("size", args->size, "e.g. 10G, 512M, 1.5T (binary units) or 'unlimited'")->required();
    add_org_option(sub, args->org, "Refuse unless the user belongs to this organisation");
    on_run(sub, chosen, [args](context& ctx) {
        const auth::address addr = parse_address_arg(args->address);
        auto q = auth::parse_quota(args->size);
        if (!q) usage_error("bad quota '" + args->size + "': " + q.reason());
        std::optional<std::int64_t> bytes;
        if (q->has_value()) bytes = static_cast<std::int64_t>(**q);
        auto address = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            auto a = account_in(tx, addr.str(), org);
            if (!auth::set_quota(tx, a, bytes, ctx.who())) refuse("unknown user '" + a.address + "'");
            return a.address;
        });
        std::cout << "quota of " << address << " is now " << quota_text(bytes) << '\n';
    });
}

}  // namespace polder::admin
