# Third-party dependencies, all from Debian packages (scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)

# libsystemc-dev ships pkg-config files but no CMake package.
pkg_check_modules(SYSTEMC REQUIRED IMPORTED_TARGET systemc)
add_library(nicsim::systemc ALIAS PkgConfig::SYSTEMC)

find_package(verilator 5.0 REQUIRED HINTS $ENV{VERILATOR_ROOT} /usr/share/verilator)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
find_package(ZLIB REQUIRED)  # --frames FILE.csv.gz
