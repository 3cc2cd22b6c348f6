// pch.cpp - the translation unit that owns the tree's shared precompiled
// header (see common/asio/CMakeLists.txt); it has no code of its own.
