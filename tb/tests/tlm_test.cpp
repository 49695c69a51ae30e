#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <systemc>
#include <tlm>
#include <utility>
#include <vector>

#include "tlm/address_router.h"
#include "tlm/host_memory.h"
#include "tlm/payload.h"
#include "tlm/pcie_link.h"

namespace {

using nicsim::tlm::address_router;
using nicsim::tlm::host_memory;
using nicsim::tlm::link_params;
using nicsim::tlm::pcie_link;
using sc_core::sc_time;

sc_time ns(double v) { return sc_time(v, sc_core::SC_NS); }

using bytes = std::vector<uint8_t>;

bytes pattern(size_t len, uint8_t first) {
  bytes b(len);
  for (size_t i = 0; i < len; ++i) b[i] = static_cast<uint8_t>(first + i);
  return b;
}

struct outcome {
  ::tlm::tlm_response_status status = ::tlm::TLM_INCOMPLETE_RESPONSE;
  sc_time delay;  // the annotated delay on return
  sc_time returned_at;
};

// A testbench initiator: one thread runs the test's stimulus, issuing
// blocking transactions through its socket.
class initiator : public sc_core::sc_module {
 public:
  using stimulus_fn = std::function<void(initiator&)>;

  SC_HAS_PROCESS(initiator);

  tlm_utils::simple_initiator_socket<initiator> socket;

  initiator(const sc_core::sc_module_name& name, stimulus_fn stimulus = {})
      : sc_core::sc_module(name), socket("socket"), m_stimulus(std::move(stimulus)) {
    SC_THREAD(run);
  }

  // streaming_width 0 means the data length; an empty byte_enable means none.
  outcome transport(::tlm::tlm_command cmd, uint64_t addr, bytes& data, sc_time delay = sc_core::SC_ZERO_TIME,
                    unsigned streaming_width = 0, bytes byte_enable = {}) {
    ::tlm::tlm_generic_payload t;
    t.set_command(cmd);
    t.set_address(addr);
    t.set_data_ptr(data.data());
    t.set_data_length(static_cast<unsigned>(data.size()));
    t.set_streaming_width(streaming_width != 0 ? streaming_width : static_cast<unsigned>(data.size()));
    if (!byte_enable.empty()) {
      t.set_byte_enable_ptr(byte_enable.data());
      t.set_byte_enable_length(static_cast<unsigned>(byte_enable.size()));
    }
    t.set_response_status(::tlm::TLM_INCOMPLETE_RESPONSE);
    socket->b_transport(t, delay);
    return {t.get_response_status(), delay, sc_core::sc_time_stamp()};
  }
  outcome write(uint64_t addr, bytes data, sc_time delay = sc_core::SC_ZERO_TIME) {
    return transport(::tlm::TLM_WRITE_COMMAND, addr, data, delay);
  }
  outcome read(uint64_t addr, bytes& data, sc_time delay = sc_core::SC_ZERO_TIME) {
    return transport(::tlm::TLM_READ_COMMAND, addr, data, delay);
  }

 private:
  void run() {
    if (m_stimulus) m_stimulus(*this);
    sc_core::wait(m_never);  // stays suspended: the test's end unwinds it (LeakSanitizer needs its stack)
  }

  stimulus_fn m_stimulus;
  sc_core::sc_event m_never;
};

// A target with its own bytes that records every access and when it arrived.
class recording_target : public sc_core::sc_module {
 public:
  struct access {
    sc_time at;
    ::tlm::tlm_command cmd;
    uint64_t address;
    bytes data;
    sc_time annotated;      // the delay the access came with
    bool dmi_hint = false;  // what the payload said of DMI as it arrived
  };

  tlm_utils::simple_target_socket<recording_target> socket;
  bytes memory;
  sc_time latency;         // added to the annotated delay of every access
  bool grant_dmi = false;  // answer every access with the DMI hint set, as host_memory does
  std::vector<access> log;

  recording_target(const sc_core::sc_module_name& name, size_t size_bytes,
                   sc_time access_latency = sc_core::SC_ZERO_TIME)
      : sc_core::sc_module(name), socket("socket"), memory(size_bytes, 0), latency(access_latency) {
    socket.register_b_transport(this, &recording_target::b_transport);
  }

 private:
  void b_transport(::tlm::tlm_generic_payload& trans, sc_time& delay) {
    const uint64_t addr = trans.get_address();
    const unsigned len = trans.get_data_length();
    if (addr + len > memory.size()) {
      trans.set_response_status(::tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    uint8_t* data = trans.get_data_ptr();
    if (trans.is_write()) std::copy(data, data + len, memory.begin() + static_cast<std::ptrdiff_t>(addr));
    if (trans.is_read())
      std::copy(memory.begin() + static_cast<std::ptrdiff_t>(addr),
                memory.begin() + static_cast<std::ptrdiff_t>(addr + len), data);
    log.push_back({sc_core::sc_time_stamp(), trans.get_command(), addr, bytes(data, data + len), delay,
                   trans.is_dmi_allowed()});
    if (grant_dmi) trans.set_dmi_allowed(true);
    delay += latency;
    trans.set_response_status(::tlm::TLM_OK_RESPONSE);
  }
};

// ---------------------------------------------------------------- host_memory

TEST(tlm_test, host_memory_write_then_read_returns_the_bytes) {
  host_memory mem("mem", 4096, ns(60));
  outcome wr, rd;
  bytes back(16, 0);
  initiator cpu("cpu", [&](initiator& i) {
    wr = i.write(0x100, pattern(16, 0x30));
    rd = i.read(0x100, back);
  });
  cpu.socket.bind(mem.socket);
  sc_core::sc_start(ns(1000));

  EXPECT_EQ(wr.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(rd.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(back, pattern(16, 0x30));
  EXPECT_EQ(wr.delay, ns(60));
  EXPECT_EQ(rd.delay, ns(60));
  EXPECT_EQ(bytes(mem.ptr(0x100, 16), mem.ptr(0x100, 16) + 16), pattern(16, 0x30));
  EXPECT_EQ(mem.ptr(0xFF, 1)[0], 0);
  EXPECT_EQ(mem.ptr(0x110, 1)[0], 0);
  EXPECT_EQ(mem.writes(), 1u);
  EXPECT_EQ(mem.reads(), 1u);
}

TEST(tlm_test, host_memory_out_of_range_access_answers_address_error) {
  host_memory mem("mem", 4096, ns(60));
  std::vector<outcome> results;
  initiator cpu("cpu", [&](initiator& i) {
    results.push_back(i.write(4096 - 4, pattern(8, 1)));  // straddles the end
    results.push_back(i.write(4096, pattern(1, 1)));
    results.push_back(i.write(0xFFFFFFFFFFFFFFF8ull, pattern(16, 1)));  // wraps around 2^64
    bytes b(4);
    results.push_back(i.read(1u << 20, b));
    results.push_back(i.write(4096 - 4, pattern(4, 0x77)));  // the last word is inside
  });
  cpu.socket.bind(mem.socket);
  sc_core::sc_start(ns(1000));

  ASSERT_EQ(results.size(), 5u);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(results[k].status, ::tlm::TLM_ADDRESS_ERROR_RESPONSE) << k;
    EXPECT_EQ(results[k].delay, sc_core::SC_ZERO_TIME) << k;
  }
  EXPECT_EQ(results[4].status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(mem.ptr(4096 - 4, 4)[3], 0x7A);
  EXPECT_EQ(mem.ptr(4096 - 8, 4)[0], 0) << "a failed write must not touch memory";
  EXPECT_EQ(mem.writes(), 1u);
  EXPECT_EQ(mem.reads(), 0u);
}

TEST(tlm_test, host_memory_streaming_narrower_than_length_answers_burst_error) {
  host_memory mem("mem", 4096, ns(60));
  outcome narrow, full;
  initiator cpu("cpu", [&](initiator& i) {
    bytes data = pattern(8, 0x11);
    narrow = i.transport(::tlm::TLM_WRITE_COMMAND, 0x40, data, sc_core::SC_ZERO_TIME, 4);
    full = i.transport(::tlm::TLM_WRITE_COMMAND, 0x80, data, sc_core::SC_ZERO_TIME, 8);
  });
  cpu.socket.bind(mem.socket);
  sc_core::sc_start(ns(1000));

  EXPECT_EQ(narrow.status, ::tlm::TLM_BURST_ERROR_RESPONSE);
  EXPECT_EQ(mem.ptr(0x40, 1)[0], 0);
  EXPECT_EQ(full.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(mem.ptr(0x80, 1)[0], 0x11);
}

TEST(tlm_test, host_memory_byte_enables_leave_disabled_bytes_unchanged) {
  host_memory mem("mem", 4096, ns(60));
  std::fill(mem.ptr(0, 4096), mem.ptr(0, 4096) + 4096, uint8_t{0xAA});
  outcome wr, wr_short_mask, rd;
  bytes back(4, 0x55);
  initiator cpu("cpu", [&](initiator& i) {
    bytes data = pattern(4, 0x01);
    wr = i.transport(::tlm::TLM_WRITE_COMMAND, 0x10, data, sc_core::SC_ZERO_TIME, 0,
                     {TLM_BYTE_ENABLED, TLM_BYTE_DISABLED, TLM_BYTE_ENABLED, TLM_BYTE_DISABLED});
    // A mask shorter than the data repeats.
    bytes data8 = pattern(8, 0x81);
    wr_short_mask = i.transport(::tlm::TLM_WRITE_COMMAND, 0x20, data8, sc_core::SC_ZERO_TIME, 0,
                                {TLM_BYTE_DISABLED, TLM_BYTE_ENABLED});
    rd = i.transport(::tlm::TLM_READ_COMMAND, 0x10, back, sc_core::SC_ZERO_TIME, 0,
                     {TLM_BYTE_DISABLED, TLM_BYTE_DISABLED, TLM_BYTE_ENABLED, TLM_BYTE_ENABLED});
  });
  cpu.socket.bind(mem.socket);
  sc_core::sc_start(ns(1000));

  EXPECT_EQ(wr.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bytes(mem.ptr(0x10, 4), mem.ptr(0x10, 4) + 4), (bytes{0x01, 0xAA, 0x03, 0xAA}));
  EXPECT_EQ(wr_short_mask.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bytes(mem.ptr(0x20, 8), mem.ptr(0x20, 8) + 8),
            (bytes{0xAA, 0x82, 0xAA, 0x84, 0xAA, 0x86, 0xAA, 0x88}));
  EXPECT_EQ(rd.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(back, (bytes{0x55, 0x55, 0x03, 0xAA}));
}

TEST(tlm_test, host_memory_bulk_access_copies_exactly_the_range_at_any_alignment) {
  // Accesses without byte enables take the bulk-copy path: a frame-sized write at an odd
  // address across a page boundary lands exactly there, and an empty access is a no-op.
  host_memory mem("mem", 3 * 4096, ns(60));
  std::fill(mem.ptr(0, 3 * 4096), mem.ptr(0, 3 * 4096) + 3 * 4096, uint8_t{0xAA});
  outcome wr, rd, wr_empty, rd_empty;
  bytes back(1518, 0x55), empty;
  initiator cpu("cpu", [&](initiator& i) {
    wr = i.write(4096 - 701, pattern(1518, 0x07));
    rd = i.read(4096 - 701, back);
    wr_empty = i.write(3 * 4096, {});
    rd_empty = i.read(5, empty);
  });
  cpu.socket.bind(mem.socket);
  sc_core::sc_start(ns(1000));

  EXPECT_EQ(wr.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(rd.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(back, pattern(1518, 0x07));
  EXPECT_EQ(bytes(mem.ptr(4096 - 701, 1518), mem.ptr(4096 - 701, 1518) + 1518), pattern(1518, 0x07));
  EXPECT_EQ(mem.ptr(4096 - 702, 1)[0], 0xAA);
  EXPECT_EQ(mem.ptr(4096 - 701 + 1518, 1)[0], 0xAA);
  EXPECT_EQ(wr_empty.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(rd_empty.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(mem.ptr(5, 1)[0], 0xAA);
  EXPECT_EQ(mem.writes(), 2u);
  EXPECT_EQ(mem.reads(), 2u);
}

TEST(tlm_test, host_memory_dmi_pointer_sees_the_same_bytes) {
  host_memory mem("mem", 4096, ns(60));
  ::tlm::tlm_dmi dmi;
  bool granted = false;
  bool dmi_hint = false;
  initiator cpu("cpu", [&](initiator& i) {
    i.write(0x200, pattern(8, 0xC0));
    ::tlm::tlm_generic_payload t;
    bytes data = pattern(4, 0);
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_READ_COMMAND, 0x200, data.data(), 4);
    sc_time d = sc_core::SC_ZERO_TIME;
    i.socket->b_transport(t, d);
    dmi_hint = t.is_dmi_allowed();
    granted = i.socket->get_direct_mem_ptr(t, dmi);
    if (granted) dmi.get_dmi_ptr()[0x300] = 0x5A;  // a CPU store through DMI
  });
  cpu.socket.bind(mem.socket);
  sc_core::sc_start(ns(1000));

  EXPECT_TRUE(dmi_hint);
  ASSERT_TRUE(granted);
  EXPECT_EQ(dmi.get_dmi_ptr(), mem.ptr(0, 1));
  EXPECT_EQ(dmi.get_start_address(), 0u);
  EXPECT_EQ(dmi.get_end_address(), 4095u);
  EXPECT_TRUE(dmi.is_read_write_allowed());
  EXPECT_EQ(dmi.get_read_latency(), ns(60));
  EXPECT_EQ(bytes(dmi.get_dmi_ptr() + 0x200, dmi.get_dmi_ptr() + 0x208), pattern(8, 0xC0));
  EXPECT_EQ(mem.ptr(0x300, 1)[0], 0x5A);
}

TEST(tlm_test, host_memory_debug_transport_copies_without_counting) {
  host_memory mem("mem", 4096, ns(60));
  unsigned written = 0, out_of_range = 0;
  initiator cpu("cpu", [&](initiator& i) {
    bytes data = pattern(12, 0x21);
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_WRITE_COMMAND, 0x30, data.data(), 12);
    written = i.socket->transport_dbg(t);
    t.set_address(4090);
    out_of_range = i.socket->transport_dbg(t);
  });
  cpu.socket.bind(mem.socket);
  sc_core::sc_start(ns(1000));

  EXPECT_EQ(written, 12u);
  EXPECT_EQ(out_of_range, 0u);
  EXPECT_EQ(mem.ptr(0x30 + 11, 1)[0], 0x21 + 11);
  EXPECT_EQ(mem.writes(), 0u);
}

TEST(tlm_test, host_memory_pointer_outside_memory_throws) {
  host_memory mem("mem", 4096, ns(60));
  EXPECT_NO_THROW(mem.ptr(4095, 1));
  EXPECT_NO_THROW(mem.ptr(4096, 0));
  EXPECT_THROW(mem.ptr(4095, 2), std::out_of_range);
  EXPECT_THROW(mem.ptr(4097, 0), std::out_of_range);
  EXPECT_THROW(mem.ptr(16, ~uint64_t{0}), std::out_of_range);
}

// ---------------------------------------------------------------- sparse host memory
// Memory is reserved, not committed: a size no knob's worst case can make too large costs
// only the pages written. Before, the whole size was allocated and zero-filled up front.

constexpr uint64_t TiB = uint64_t{1} << 40;
constexpr uint64_t PAGE = 4096;

// The resident set of this process, from /proc/self/statm.
uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

TEST(tlm_test, host_memory_of_a_tebibyte_commits_only_what_is_written) {
  const uint64_t rss_before = resident_bytes();
  host_memory mem("mem", TiB, ns(60));
  EXPECT_EQ(mem.size(), TiB);
  const uint64_t top = TiB - PAGE;  // the last page
  bytes untouched_read(64, 0xEE), untouched_dbg(64, 0xEE), across(32, 0), across_dbg(32, 0), last(1, 0xEE);
  outcome rd_untouched, wr_across, rd_across, rd_last;
  unsigned dbg_untouched = 0, dbg_across = 0;
  initiator cpu("cpu", [&](initiator& i) {
    rd_untouched = i.read(TiB / 2, untouched_read);  // never written: zeros
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_READ_COMMAND, TiB / 3, untouched_dbg.data(), 64);
    dbg_untouched = i.socket->transport_dbg(t);
    // 32 bytes across the boundary between the last two pages: 16 on each side.
    wr_across = i.write(top - 16, pattern(32, 0x40));
    rd_across = i.read(top - 16, across);
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_READ_COMMAND, top - 16, across_dbg.data(), 32);
    dbg_across = i.socket->transport_dbg(t);
    rd_last = i.read(TiB - 1, last);
  });
  cpu.socket.bind(mem.socket);
  sc_core::sc_start(ns(1000));

  EXPECT_EQ(rd_untouched.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(untouched_read, bytes(64, 0));
  EXPECT_EQ(dbg_untouched, 64u);
  EXPECT_EQ(untouched_dbg, bytes(64, 0));
  EXPECT_EQ(wr_across.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(rd_across.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(across, pattern(32, 0x40));
  EXPECT_EQ(dbg_across, 32u);
  EXPECT_EQ(across_dbg, pattern(32, 0x40));
  EXPECT_EQ(rd_last.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(last, bytes(1, 0));
  // The CPU's view agrees on both sides of the boundary, and around it nothing else moved.
  EXPECT_EQ(bytes(mem.ptr(top - 16, 32), mem.ptr(top - 16, 32) + 32), pattern(32, 0x40));
  EXPECT_EQ(mem.ptr(top - 17, 1)[0], 0);
  EXPECT_EQ(mem.ptr(top + 16, 1)[0], 0);
  // A store through the CPU's pointer into yet another page, seen by a later read.
  mem.ptr(TiB / 4 + PAGE - 2, 4)[1] = 0x99;
  EXPECT_EQ(mem.ptr(TiB / 4 + PAGE - 1, 1)[0], 0x99);
  EXPECT_LT(resident_bytes() - std::min(rss_before, resident_bytes()), uint64_t{64} << 20)
      << "a tebibyte of memory must cost only the pages written";
}

TEST(tlm_test, host_memory_out_of_range_of_a_large_memory_answers_address_error) {
  host_memory mem("mem", TiB, ns(60));
  std::vector<outcome> results;
  unsigned dbg_past = 0, dbg_straddle = 0;
  initiator cpu("cpu", [&](initiator& i) {
    results.push_back(i.write(TiB, pattern(1, 1)));      // the first byte past the end
    results.push_back(i.write(TiB - 4, pattern(8, 1)));  // straddles the end
    bytes b(16);
    results.push_back(i.read(TiB + PAGE, b));        // well past it
    results.push_back(i.read(~uint64_t{0} - 7, b));  // wraps around 2^64
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_READ_COMMAND, TiB, b.data(), 16);
    dbg_past = i.socket->transport_dbg(t);
    t.set_address(TiB - 8);
    dbg_straddle = i.socket->transport_dbg(t);
  });
  cpu.socket.bind(mem.socket);
  sc_core::sc_start(ns(1000));

  ASSERT_EQ(results.size(), 4u);
  for (size_t k = 0; k < results.size(); ++k)
    EXPECT_EQ(results[k].status, ::tlm::TLM_ADDRESS_ERROR_RESPONSE) << k;
  EXPECT_EQ(dbg_past, 0u);
  EXPECT_EQ(dbg_straddle, 0u);
  EXPECT_EQ(mem.ptr(TiB - 4, 4)[0], 0) << "a failed write must not touch memory";
  EXPECT_THROW(mem.ptr(TiB - 1, 2), std::out_of_range);
}

TEST(tlm_test, host_memory_dmi_of_a_large_memory_covers_it_and_agrees_with_transport) {
  host_memory mem("mem", TiB, ns(60));
  ::tlm::tlm_dmi dmi;
  bool granted = false;
  bytes seen(8, 0xEE);
  outcome rd;
  const uint64_t addr = TiB - 3 * PAGE - 4;  // a store across a page boundary high up
  initiator cpu("cpu", [&](initiator& i) {
    ::tlm::tlm_generic_payload t;
    bytes none(4);
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_READ_COMMAND, addr, none.data(), 4);
    granted = i.socket->get_direct_mem_ptr(t, dmi);
    if (!granted) return;
    for (unsigned k = 0; k < 8; ++k) dmi.get_dmi_ptr()[addr + k] = static_cast<uint8_t>(0xD0 + k);
    rd = i.read(addr, seen);  // the device side sees the CPU's stores
  });
  cpu.socket.bind(mem.socket);
  sc_core::sc_start(ns(1000));

  ASSERT_TRUE(granted);
  EXPECT_EQ(dmi.get_start_address(), 0u);
  EXPECT_EQ(dmi.get_end_address(), TiB - 1);
  EXPECT_TRUE(dmi.is_read_write_allowed());
  EXPECT_EQ(dmi.get_dmi_ptr(), mem.ptr(0, 1));
  EXPECT_EQ(rd.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(seen, pattern(8, 0xD0));
  EXPECT_EQ(dmi.get_dmi_ptr()[addr + 8], 0) << "untouched bytes read as zero through DMI too";
}

// ------------------------------------------------------------------ pcie_link

// 8 Gb/s is one byte per nanosecond, so serialization times read as byte counts.
link_params one_ns_per_byte() {
  link_params p;
  p.gbps = 8.0;
  p.latency = ns(100);
  p.tlp_overhead_bytes = 24;
  p.max_payload_bytes = 256;
  return p;
}

// The link with a device-side initiator and a host-side recording target
// upstream, and the CPU and BAR the other way.
struct link_bench {
  link_bench(const link_params& params, initiator::stimulus_fn device_stimulus,
             initiator::stimulus_fn cpu_stimulus = {}, sc_time host_latency = sc_core::SC_ZERO_TIME)
      : link("link", params),
        device("device", std::move(device_stimulus)),
        cpu("cpu", std::move(cpu_stimulus)),
        host("host", 1 << 16, host_latency),
        bar("bar", 1 << 12) {
    device.socket.bind(link.up_in);
    link.up_out.bind(host.socket);
    cpu.socket.bind(link.down_in);
    link.down_out.bind(bar.socket);
  }

  pcie_link link;
  initiator device;
  initiator cpu;
  recording_target host;
  recording_target bar;
};

TEST(tlm_test, pcie_link_serialization_follows_the_arithmetic) {
  pcie_link link("link", one_ns_per_byte());
  EXPECT_EQ(link.tlps_for(0), 1u);
  EXPECT_EQ(link.tlps_for(256), 1u);
  EXPECT_EQ(link.tlps_for(257), 2u);
  EXPECT_EQ(link.tlps_for(600), 3u);
  EXPECT_EQ(link.serialization(0), ns(24));
  EXPECT_EQ(link.serialization(256), ns(280));
  EXPECT_EQ(link.serialization(600), ns(600 + 3 * 24));
}

TEST(tlm_test, pcie_link_posted_write_returns_after_serialization_and_arrives_after_latency) {
  outcome wr;
  link_bench b(one_ns_per_byte(), [&](initiator& i) { wr = i.write(0x1000, pattern(256, 7)); });
  sc_core::sc_start(ns(10000));

  EXPECT_EQ(wr.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(wr.returned_at, sc_core::SC_ZERO_TIME) << "a posted write must not block the initiator";
  EXPECT_EQ(wr.delay, ns(256 + 24));
  ASSERT_EQ(b.host.log.size(), 1u);
  EXPECT_EQ(b.host.log[0].at, ns(280 + 100));
  EXPECT_EQ(b.host.log[0].cmd, ::tlm::TLM_WRITE_COMMAND);
  EXPECT_EQ(b.host.log[0].address, 0x1000u);
  EXPECT_EQ(b.host.log[0].data, pattern(256, 7));
  EXPECT_TRUE(b.bar.log.empty());
}

TEST(tlm_test, pcie_link_posted_write_carries_a_copy_of_the_data) {
  link_bench b(one_ns_per_byte(), [&](initiator& i) {
    bytes data = pattern(64, 1);
    i.transport(::tlm::TLM_WRITE_COMMAND, 0x40, data);
    std::fill(data.begin(), data.end(), uint8_t{0xEE});  // the initiator reuses its buffer at once
  });
  sc_core::sc_start(ns(10000));

  ASSERT_EQ(b.host.log.size(), 1u);
  EXPECT_EQ(b.host.log[0].data, pattern(64, 1));
}

// A frame's data marked unread_until_later_write reaches the target when its last TLP has left,
// annotated with the time it arrives; the write-back after it is queued and arrives at its own
// time, after the data. Lane times and counters are those of the same writes unmarked (the
// arithmetic of the tests around it).
TEST(tlm_test, pcie_link_data_unread_until_a_later_write_is_written_when_sent_with_its_arrival_annotated) {
  const auto send = [](initiator& i, outcome& data, outcome& wb) {
    bytes frame = pattern(600, 3);
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::unread_until_later_write unread;
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_WRITE_COMMAND, 0x2000, frame.data(), 600);
    t.set_extension(&unread);
    sc_time delay = sc_core::SC_ZERO_TIME;
    i.socket->b_transport(t, delay);
    t.clear_extension(&unread);
    data = {t.get_response_status(), delay, sc_core::sc_time_stamp()};
    wb = i.write(0x100, pattern(16, 9));
  };
  outcome data, wb;
  link_bench b(one_ns_per_byte(), [&](initiator& i) { send(i, data, wb); });
  sc_core::sc_start(ns(10000));
  ASSERT_EQ(b.host.log.size(), 2u);
  EXPECT_EQ(b.host.log[0].address, 0x2000u);
  EXPECT_EQ(b.host.log[0].at, sc_core::SC_ZERO_TIME) << "handed over when sent, not queued";
  EXPECT_EQ(b.host.log[0].annotated, ns(672 + 100)) << "annotated with its arrival";
  EXPECT_EQ(b.host.log[0].data, pattern(600, 3));
  EXPECT_EQ(data.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(data.delay, ns(672));
  EXPECT_EQ(b.host.log[1].address, 0x100u);
  EXPECT_EQ(b.host.log[1].at, ns(672 + 40 + 100)) << "the write-back still arrives in order";
  EXPECT_GT(b.host.log[1].at, b.host.log[0].at + b.host.log[0].annotated);

  const auto& up = b.link.stats(pcie_link::UPSTREAM);  // as for the same writes unmarked
  EXPECT_EQ(up.tlps, 3u + 1u);
  EXPECT_EQ(up.payload_bytes, 616u);
  EXPECT_EQ(up.wire_bytes, 672u + 40u);
  EXPECT_EQ(up.busy, ns(712));
}

TEST(tlm_test, pcie_link_write_above_mps_pays_overhead_per_tlp) {
  outcome wr;
  link_bench b(one_ns_per_byte(), [&](initiator& i) { wr = i.write(0, pattern(600, 0)); });
  sc_core::sc_start(ns(10000));

  EXPECT_EQ(wr.delay, ns(600 + 3 * 24));
  ASSERT_EQ(b.host.log.size(), 1u);
  EXPECT_EQ(b.host.log[0].at, ns(672 + 100));
  const auto& up = b.link.stats(pcie_link::UPSTREAM);
  EXPECT_EQ(up.tlps, 3u);
  EXPECT_EQ(up.payload_bytes, 600u);
  EXPECT_EQ(up.wire_bytes, 672u);
  EXPECT_EQ(up.busy, ns(672));
}

TEST(tlm_test, pcie_link_back_to_back_writes_serialize_and_arrive_in_order) {
  outcome first, second;
  link_bench b(one_ns_per_byte(), [&](initiator& i) {
    first = i.write(0x0, pattern(256, 1));
    second = i.write(0x100, pattern(256, 2));  // issued at the same time, delay not yet consumed
  });
  sc_core::sc_start(ns(10000));

  EXPECT_EQ(first.delay, ns(280));
  EXPECT_EQ(second.delay, ns(560)) << "the second write leaves after the first";
  ASSERT_EQ(b.host.log.size(), 2u);
  EXPECT_EQ(b.host.log[0].address, 0x0u);
  EXPECT_EQ(b.host.log[0].at, ns(380));
  EXPECT_EQ(b.host.log[1].address, 0x100u);
  EXPECT_EQ(b.host.log[1].at, ns(380 + 280));
}

TEST(tlm_test, pcie_link_write_annotated_delay_starts_serialization_later) {
  outcome wr;
  link_bench b(one_ns_per_byte(), [&](initiator& i) { wr = i.write(0x0, pattern(16, 1), ns(50)); });
  sc_core::sc_start(ns(10000));

  EXPECT_EQ(wr.delay, ns(50 + 40));
  ASSERT_EQ(b.host.log.size(), 1u);
  EXPECT_EQ(b.host.log[0].at, ns(50 + 40 + 100));
}

TEST(tlm_test, pcie_link_idle_lane_starts_a_later_write_at_once) {
  outcome late;
  link_bench b(one_ns_per_byte(), [&](initiator& i) {
    i.write(0x0, pattern(256, 1));
    sc_core::wait(ns(1000));
    late = i.write(0x100, pattern(64, 2));
  });
  sc_core::sc_start(ns(10000));

  EXPECT_EQ(late.delay, ns(88));
  ASSERT_EQ(b.host.log.size(), 2u);
  EXPECT_EQ(b.host.log[1].at, ns(1000 + 88 + 100));
}

TEST(tlm_test, pcie_link_read_pays_request_latency_completion_and_latency) {
  outcome rd;
  bytes data(64, 0);
  link_bench b(one_ns_per_byte(), [&](initiator& i) { rd = i.read(0x2000, data); });
  std::copy_n(pattern(64, 0x90).begin(), 64, b.host.memory.begin() + 0x2000);
  sc_core::sc_start(ns(10000));

  EXPECT_EQ(rd.status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(data, pattern(64, 0x90));
  // request 24 + flight 100, then completion 64 + 24 + flight 100
  EXPECT_EQ(rd.returned_at, ns(312));
  EXPECT_EQ(rd.delay, sc_core::SC_ZERO_TIME);
  ASSERT_EQ(b.host.log.size(), 1u);
  EXPECT_EQ(b.host.log[0].at, ns(124));
  EXPECT_EQ(b.host.log[0].cmd, ::tlm::TLM_READ_COMMAND);
}

TEST(tlm_test, pcie_link_read_completion_waits_for_target_latency) {
  outcome rd;
  bytes data(64, 0);
  link_bench b(
      one_ns_per_byte(), [&](initiator& i) { rd = i.read(0x2000, data); }, {}, ns(50));
  sc_core::sc_start(ns(10000));

  EXPECT_EQ(rd.returned_at, ns(312 + 50));
}

TEST(tlm_test, pcie_link_read_does_not_pass_an_earlier_write) {
  outcome rd;
  bytes data(8, 0);
  link_bench b(one_ns_per_byte(), [&](initiator& i) {
    i.write(0x3000, pattern(256, 0x40));
    rd = i.read(0x3000, data);
  });
  std::fill_n(b.host.memory.begin() + 0x3000, 256, uint8_t{0xFF});
  sc_core::sc_start(ns(10000));

  EXPECT_EQ(data, pattern(8, 0x40));
  ASSERT_EQ(b.host.log.size(), 2u);
  EXPECT_EQ(b.host.log[0].cmd, ::tlm::TLM_WRITE_COMMAND);
  EXPECT_EQ(b.host.log[1].cmd, ::tlm::TLM_READ_COMMAND);
  // The request TLP leaves after the write's 280 ns.
  EXPECT_EQ(b.host.log[1].at, ns(280 + 24 + 100));
  EXPECT_EQ(rd.returned_at, ns(280 + 24 + 100 + 8 + 24 + 100));
}

// The link keeps each queued posted write's bytes in storage an earlier one left: many writes
// of varied sizes queued at once, and more while the first are delivered (the queue wraps
// around and grows), still arrive each whole, in order, at their times.
TEST(tlm_test, pcie_link_queued_writes_arrive_whole_and_in_order_while_the_queue_wraps_and_grows) {
  std::vector<bytes> sent;
  std::vector<sc_time> arrival;  // the lane never idles: each arrives a flight after its last bit
  bytes back(600);
  link_bench b(one_ns_per_byte(), [&](initiator& i) {
    sc_time busy = sc_core::SC_ZERO_TIME;
    auto write = [&](size_t len) {
      const auto k = static_cast<uint8_t>(sent.size());
      sent.push_back(pattern(len, static_cast<uint8_t>(k * 7)));
      i.write(0x400 * (k % 64), sent.back());
      busy += b.link.serialization(static_cast<unsigned>(len));
      arrival.push_back(busy + ns(100));
    };
    for (unsigned n = 0; n < 20; ++n) write(n % 2 ? 600 : 1 + n * 13);
    sc_core::wait(ns(3000));  // some have arrived; the lane is still busy with the rest
    for (unsigned n = 0; n < 30; ++n) write(n % 3 ? 4 + n * 19 : 600);
    i.read(0x400 * ((sent.size() - 1) % 64), back);  // behind every write
  });
  sc_core::sc_start(ns(200000));

  ASSERT_EQ(b.host.log.size(), 51u);
  for (size_t k = 0; k < 50; ++k) {
    EXPECT_EQ(b.host.log[k].cmd, ::tlm::TLM_WRITE_COMMAND) << k;
    EXPECT_EQ(b.host.log[k].address, 0x400 * (k % 64)) << k;
    EXPECT_EQ(b.host.log[k].data, sent[k]) << k;
    EXPECT_EQ(b.host.log[k].at, arrival[k]) << k;
  }
  EXPECT_EQ(b.host.log[50].cmd, ::tlm::TLM_READ_COMMAND);
  EXPECT_TRUE(std::equal(sent.back().begin(), sent.back().end(), back.begin()));
}

// The link delivers posted writes through a payload of its own, reused: each arrives as a new
// transaction would, without the DMI hint the last target gave.
TEST(tlm_test, pcie_link_posted_writes_arrive_without_the_last_answers_dmi_hint) {
  link_bench b(one_ns_per_byte(), [&](initiator& i) {
    for (uint8_t k = 0; k < 3; ++k) i.write(0x100 * k, pattern(64, k));
  });
  b.host.grant_dmi = true;
  sc_core::sc_start(ns(10000));

  ASSERT_EQ(b.host.log.size(), 3u);
  for (const auto& a : b.host.log) EXPECT_FALSE(a.dmi_hint) << a.address;
}

TEST(tlm_test, pcie_link_counts_tlps_and_payload_per_direction) {
  link_bench b(one_ns_per_byte(), [&](initiator& i) {
    i.write(0, pattern(256, 0));
    i.write(0, pattern(300, 0));
    bytes data(64);
    i.read(0, data);
  });
  sc_core::sc_start(ns(10000));

  const auto& up = b.link.stats(pcie_link::UPSTREAM);
  EXPECT_EQ(up.tlps, 1u + 2u + 1u);
  EXPECT_EQ(up.payload_bytes, 256u + 300u);
  EXPECT_EQ(up.wire_bytes, 256u + 300u + 4u * 24u);
  const auto& down = b.link.stats(pcie_link::DOWNSTREAM);
  EXPECT_EQ(down.tlps, 1u) << "the read's completion";
  EXPECT_EQ(down.payload_bytes, 64u);
  EXPECT_EQ(down.busy, ns(64 + 24));
}

TEST(tlm_test, pcie_link_downstream_write_reaches_the_bar) {
  outcome wr;
  link_bench b(one_ns_per_byte(), {}, [&](initiator& i) { wr = i.write(0x10, pattern(4, 9)); });
  sc_core::sc_start(ns(10000));

  EXPECT_EQ(wr.delay, ns(4 + 24));
  ASSERT_EQ(b.bar.log.size(), 1u);
  EXPECT_EQ(b.bar.log[0].at, ns(28 + 100));
  EXPECT_EQ(b.bar.log[0].data, pattern(4, 9));
  EXPECT_TRUE(b.host.log.empty());
  EXPECT_EQ(b.link.stats(pcie_link::DOWNSTREAM).tlps, 1u);
  EXPECT_EQ(b.link.stats(pcie_link::UPSTREAM).tlps, 0u);
}

TEST(tlm_test, pcie_link_rejects_byte_enables_and_streaming) {
  outcome be, narrow;
  link_bench b(one_ns_per_byte(), [&](initiator& i) {
    bytes data = pattern(8, 0);
    be = i.transport(::tlm::TLM_WRITE_COMMAND, 0, data, sc_core::SC_ZERO_TIME, 0, {TLM_BYTE_ENABLED});
    narrow = i.transport(::tlm::TLM_WRITE_COMMAND, 0, data, sc_core::SC_ZERO_TIME, 4);
  });
  sc_core::sc_start(ns(10000));

  EXPECT_EQ(be.status, ::tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
  EXPECT_EQ(narrow.status, ::tlm::TLM_BURST_ERROR_RESPONSE);
  EXPECT_TRUE(b.host.log.empty());
  EXPECT_EQ(b.link.stats(pcie_link::UPSTREAM).tlps, 0u);
}

TEST(tlm_test, pcie_link_without_bandwidth_throws) {
  link_params p;
  p.gbps = 0;
  EXPECT_THROW(pcie_link("link", p), std::invalid_argument);
}

// ------------------------------------------------------------- address_router

TEST(tlm_test, address_router_routes_by_range_and_subtracts_the_base) {
  address_router router("router");
  recording_target low("low", 0x100), high("high", 0x1000);
  std::vector<outcome> results;
  uint64_t address_after = 0;
  initiator cpu("cpu", [&](initiator& i) {
    bytes data = pattern(4, 1);
    results.push_back(i.transport(::tlm::TLM_WRITE_COMMAND, 0x1010, data));
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, ::tlm::TLM_WRITE_COMMAND, 0x8FFC, data.data(), 4);
    sc_time d = sc_core::SC_ZERO_TIME;
    i.socket->b_transport(t, d);
    results.push_back({t.get_response_status(), d, sc_core::sc_time_stamp()});
    address_after = t.get_address();
  });
  cpu.socket.bind(router.in);
  router.map(low.socket, 0x1000, 0x100, "low");
  router.map(high.socket, 0x8000, 0x1000, "high");
  sc_core::sc_start(ns(100));

  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(results[1].status, ::tlm::TLM_OK_RESPONSE);
  ASSERT_EQ(low.log.size(), 1u);
  EXPECT_EQ(low.log[0].address, 0x10u);
  ASSERT_EQ(high.log.size(), 1u);
  EXPECT_EQ(high.log[0].address, 0xFFCu);
  EXPECT_EQ(address_after, 0x8FFCu) << "the initiator's address is restored";
  EXPECT_EQ(router.decode_errors(), 0u);
}

TEST(tlm_test, address_router_unmapped_address_answers_address_error) {
  address_router router("router");
  recording_target low("low", 0x100);
  std::vector<outcome> results;
  initiator cpu("cpu", [&](initiator& i) {
    results.push_back(i.write(0x0FFC, pattern(4, 1)));  // below the range
    results.push_back(i.write(0x1100, pattern(4, 1)));  // just past it
    results.push_back(i.write(0x10FC, pattern(8, 1)));  // straddles its end
  });
  cpu.socket.bind(router.in);
  router.map(low.socket, 0x1000, 0x100, "low");
  sc_core::sc_start(ns(100));

  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_EQ(r.status, ::tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_TRUE(low.log.empty());
  EXPECT_EQ(router.decode_errors(), 3u);
}

// One target through two windows, as a root complex remaps DRAM above the PCI hole: the
// second window reaches the target's addresses from target_base on; the gap between is not
// the target's.
TEST(tlm_test, address_router_alias_reaches_the_same_target_at_its_own_addresses) {
  address_router router("router");
  recording_target mem("mem", 0x3000);
  recording_target msi("msi", 0x100);
  std::vector<outcome> results;
  initiator cpu("cpu", [&](initiator& i) {
    results.push_back(i.write(0x0FF0, pattern(4, 1)));   // low window
    results.push_back(i.write(0x10010, pattern(4, 2)));  // high window → target 0x2010
    results.push_back(i.write(0x8000, pattern(4, 3)));   // the other target in the gap
    results.push_back(i.write(0x1800, pattern(4, 4)));   // the gap: nobody's
    results.push_back(i.write(0x10FFE, pattern(4, 5)));  // straddles the high window's end
  });
  cpu.socket.bind(router.in);
  const unsigned port = router.map(mem.socket, 0, 0x1000, "mem");
  router.map(msi.socket, 0x8000, 0x100, "msi");
  router.alias(port, 0x10000, 0x1000, 0x2000, "mem high");
  EXPECT_THROW(router.alias(port, 0x80F0, 0x100, 0x2000, "mem overlap"), std::invalid_argument);
  EXPECT_THROW(router.alias(7, 0x20000, 0x100, 0, "nobody"), std::invalid_argument);
  sc_core::sc_start(ns(100));

  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(results[1].status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(results[2].status, ::tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(results[3].status, ::tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(results[4].status, ::tlm::TLM_ADDRESS_ERROR_RESPONSE);
  ASSERT_EQ(mem.log.size(), 2u);
  EXPECT_EQ(mem.log[0].address, 0x0FF0u);
  EXPECT_EQ(mem.log[1].address, 0x2010u);
  EXPECT_EQ(bytes(mem.memory.begin() + 0x2010, mem.memory.begin() + 0x2014), pattern(4, 2));
  ASSERT_EQ(msi.log.size(), 1u);
  EXPECT_EQ(msi.log[0].address, 0u);
  EXPECT_EQ(router.decode_errors(), 2u);
}

TEST(tlm_test, address_router_overlapping_or_empty_map_throws) {
  address_router router("router");
  recording_target a("a", 0x100), b("b", 0x100), c("c", 0x100), d("d", 0x100);
  router.map(a.socket, 0x1000, 0x100, "a");
  EXPECT_THROW(router.map(b.socket, 0x10FF, 0x10, "b"), std::invalid_argument);
  EXPECT_THROW(router.map(b.socket, 0x0F00, 0x101, "b"), std::invalid_argument);
  EXPECT_THROW(router.map(b.socket, 0x0, 0x10000, "b"), std::invalid_argument);
  EXPECT_THROW(router.map(c.socket, 0x4000, 0, "c"), std::invalid_argument);
  EXPECT_NO_THROW(router.map(d.socket, 0x1100, 0x100, "d")) << "adjacent ranges do not overlap";
}

}  // namespace

// The pool's payloads come back for the next lease with every attribute a target may change
// filled again, and one that comes back with an extension left on it is an error.
TEST(payload_pool, a_payload_comes_back_filled_again_and_one_with_an_extension_is_an_error) {
  struct owner : sc_core::sc_module {
    explicit owner(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {}
  } o("pool_owner");
  nicsim::tlm::payload_pool pool(o);
  uint32_t word = 0;
  const ::tlm::tlm_generic_payload* first = nullptr;
  {
    const auto t = pool.take(::tlm::TLM_READ_COMMAND, 0x40, &word, 4);
    first = &*t;
    EXPECT_EQ(pool.idle(), 0u);
    // What a target may leave behind.
    t->set_dmi_allowed(true);
    t->set_gp_option(::tlm::TLM_FULL_PAYLOAD_ACCEPTED);
    t->set_response_status(::tlm::TLM_ADDRESS_ERROR_RESPONSE);
    {
      const auto second = pool.take(::tlm::TLM_WRITE_COMMAND, 0x80, &word, 4);
      EXPECT_NE(&*second, first);  // a payload in flight is never leased twice
    }
    EXPECT_EQ(pool.idle(), 1u);
  }
  EXPECT_EQ(pool.idle(), 2u);
  uint8_t bytes[8] = {};
  {
    const auto t = pool.take(::tlm::TLM_WRITE_COMMAND, 0x1000, bytes, 8);
    EXPECT_EQ(pool.idle(), 1u);  // one of those given back, not a new one
    EXPECT_EQ(t->get_command(), ::tlm::TLM_WRITE_COMMAND);
    EXPECT_EQ(t->get_address(), 0x1000u);
    EXPECT_EQ(t->get_data_ptr(), bytes);
    EXPECT_EQ(t->get_data_length(), 8u);
    EXPECT_EQ(t->get_streaming_width(), 8u);
    EXPECT_EQ(t->get_byte_enable_ptr(), nullptr);
    EXPECT_FALSE(t->is_dmi_allowed());
    EXPECT_EQ(t->get_gp_option(), ::tlm::TLM_MIN_PAYLOAD);
    EXPECT_EQ(t->get_response_status(), ::tlm::TLM_INCOMPLETE_RESPONSE);
  }
  nicsim::tlm::unread_until_later_write left;
  const auto give_back_with_extension = [&] {
    const auto t = pool.take(::tlm::TLM_WRITE_COMMAND, 0, bytes, 8);
    t->set_extension(&left);
  };
  try {
    give_back_with_extension();
    ADD_FAILURE() << "no error for a payload given back with an extension";
  } catch (const sc_core::sc_report& r) {
    EXPECT_NE(std::string(r.get_msg()).find("extension"), std::string::npos) << r.get_msg();
    EXPECT_NE(std::string(r.get_msg_type()).find("pool_owner"), std::string::npos) << r.get_msg_type();
  }
}

// Past its first 1,024 returns the pool looks at every 64th: an extension left on a payload
// stays on it, so it is still reported, within 64 more returns.
TEST(payload_pool, an_extension_left_after_many_returns_is_still_reported) {
  struct owner : sc_core::sc_module {
    explicit owner(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {}
  } o("pool_owner_late");
  nicsim::tlm::payload_pool pool(o);
  uint8_t bytes[4] = {};
  for (int i = 0; i < 5000; ++i) pool.take(::tlm::TLM_READ_COMMAND, 0, bytes, 4);
  nicsim::tlm::unread_until_later_write left;
  int returns = 0;
  try {
    for (; returns < 200; ++returns) {
      const auto t = pool.take(::tlm::TLM_WRITE_COMMAND, 0, bytes, 4);
      if (returns == 0) t->set_extension(&left);
    }
    ADD_FAILURE() << "an extension left on a pooled payload was never reported";
  } catch (const sc_core::sc_report& r) {
    EXPECT_NE(std::string(r.get_msg()).find("extension"), std::string::npos) << r.get_msg();
    EXPECT_LT(returns, 64);
  }
}
