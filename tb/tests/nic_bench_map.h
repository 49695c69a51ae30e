#pragma once
// What the NIC unit tests (nic_test, nic_tx_test) share: time helpers and the host memory
// map their test benches lay out behind the PCIe link (rings, buffers, the MSI window).
#include <cstdint>
#include <systemc>
#include <vector>

namespace nicsim::test::nic_bench_map {

inline sc_core::sc_time ns(double v) { return sc_core::sc_time(v, sc_core::SC_NS); }
inline sc_core::sc_time us(double v) { return sc_core::sc_time(v, sc_core::SC_US); }

using bytes = std::vector<uint8_t>;

constexpr uint64_t MSI_BASE = 0xFEE00000;
constexpr uint64_t MSI_SIZE = 0x100000;
constexpr uint32_t MSI_VECTOR = 0x41;
constexpr uint64_t RING_BASE = 0x10000;  // queue q's ring at RING_BASE + 0x100 q (nic_tx_test)
constexpr uint64_t BUFFER_BASE = 0x20000;
constexpr uint64_t BUFFER_SIZE = 2048;

}  // namespace nicsim::test::nic_bench_map
