// catch_main.cpp - the one Catch2 main, compiled once for all unit test executables.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
