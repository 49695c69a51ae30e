#pragma once
// What this nicsim is: the CMake project's version, and the git revision the build was
// configured from (git describe --always --dirty; "unknown" outside a git checkout). Both are
// fixed when CMake configures (tb/version.cpp.in).
namespace nicsim::tb {
const char* nicsim_version();
const char* nicsim_git_revision();
}  // namespace nicsim::tb
