// main.cpp - polderctl, the administration command line of Polder.
//
// SECURITY: runs as the invoking operator; see src/context.hpp.
// STANDARDS: none.
#include "cli.hpp"

int main(int argc, char** argv) { return polder::admin::run(argc, argv); }
