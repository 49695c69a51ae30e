# Third-party dependencies, all from Debian packages (scripts/install-deps.sh).
# The libraries need SystemC, Verilator (to verilate rtl/; its runtime is built into nicsim_rtl),
# yaml-cpp, nlohmann-json and zlib. The rest is asked for only by what uses it: CLI11 by the nicsim
# binary (NICSIM_BUILD_CLI), GoogleTest and libpcap by the tests (NICSIM_BUILD_TESTS); the
# benchmark (tb/bench) needs nothing more than the libraries. GoogleTest, when found, also builds
# the shipped test main (nicsim::gtest_main).
find_package(PkgConfig REQUIRED)

# libsystemc-dev ships pkg-config files but no CMake package.
pkg_check_modules(SYSTEMC REQUIRED IMPORTED_TARGET systemc)
add_library(nicsim::systemc ALIAS PkgConfig::SYSTEMC)

find_package(verilator 5.0 REQUIRED HINTS $ENV{VERILATOR_ROOT} /usr/share/verilator)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
if(NICSIM_BUILD_CLI)
  find_package(CLI11 REQUIRED)
endif()
if(NICSIM_BUILD_TESTS)
  find_package(GTest REQUIRED)
  pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
else()
  find_package(GTest QUIET)
endif()
find_package(ZLIB REQUIRED)  # --frames FILE.csv.gz
