// cli.hpp - polderctl's entry point: parse the command line, run the chosen
// command, map the outcome to an exit code.
//
// SECURITY: see context.hpp (one-line errors without secrets, one transaction
// per command).
// STANDARDS: sysexits(3).
#pragma once

namespace polder::admin {

// run - everything main() does; returns the process exit code.
int run(int argc, char** argv);

}  // namespace polder::admin
