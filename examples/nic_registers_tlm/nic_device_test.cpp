// The NIC checked alone. The bench plays the driver from a SystemC thread: it lays out an RX
// descriptor ring in host memory, programs the ring, the MSI address and the interrupt mask
// through BAR0 (TLM generic payloads over the PCIe link, as a CPU's MMIO goes), hands
// descriptors over by writing RDT, and sends frames into the NIC's Ethernet port. It then reads
// what the device wrote: descriptors and buffers in host memory, the MSI, the statistics
// registers. The register map is abi/ (nicsim/abi/e1000_regs.h, e1000_defines.h, e1000_hw.h).
#include <gtest/gtest.h>
#include <nicsim/abi/e1000_hw.h>
#include <nicsim/hw/nic.h>
#include <nicsim/proto/frame.h>
#include <nicsim/tlm/address_router.h>
#include <nicsim/tlm/eth_port.h>
#include <nicsim/tlm/host_memory.h>
#include <nicsim/tlm/payload.h>
#include <nicsim/tlm/pcie_link.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <systemc>
#include <tlm>
#include <vector>

namespace {

namespace regs = nicsim::abi;
using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

// The host's physical address map, as the bench lays it out.
constexpr uint64_t NIC_BAR0 = 0xF0000000;
constexpr uint64_t MSI_BASE = 0xFEE00000, MSI_SIZE = 0x100000;
constexpr uint32_t MSI_VECTOR = 0x41;
constexpr uint64_t RING = 0x10000;     // 16 legacy RX descriptors
constexpr uint64_t BUFFERS = 0x20000;  // 2 KiB each
constexpr unsigned RING_SIZE = 16;

// Catches the device's MSI writes.
struct msi_catcher : sc_core::sc_module {
  tlm_utils::simple_target_socket<msi_catcher> socket;
  std::vector<uint32_t> data;
  sc_core::sc_event arrived;
  explicit msi_catcher(const sc_core::sc_module_name& n) : sc_core::sc_module(n), socket("socket") {
    socket.register_b_transport(this, &msi_catcher::b_transport);
  }
  void b_transport(::tlm::tlm_generic_payload& t, sc_time&) {
    uint32_t v = 0;
    std::memcpy(&v, t.get_data_ptr(), 4);
    data.push_back(v);
    arrived.notify();
    t.set_response_status(::tlm::TLM_OK_RESPONSE);
  }
};

class device_bench : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(device_bench);
  explicit device_bench(const sc_core::sc_module_name& n, std::function<void(device_bench&)> body)
      : sc_core::sc_module(n),
        mem("mem", 1 << 20, sc_time(60, SC_NS)),
        link("pcie", nicsim::tlm::link_params{}),
        root_complex("root_complex"),
        bar_decoder("bar_decoder"),
        msi("msi"),
        dut("nic", nicsim::hw::nic_params{}),
        wire("wire", 10),  // 10 Gb/s: the partner's end sets the link's rate
        cpu("cpu"),
        m_body(std::move(body)) {
    dut.dma.bind(link.up_in);  // device -> link -> root complex -> memory or MSI
    link.up_out.bind(root_complex.in);
    root_complex.map(mem.socket, 0, mem.size(), "host memory");
    root_complex.map(msi.socket, MSI_BASE, MSI_SIZE, "MSI");
    cpu.bind(link.down_in);  // CPU -> link -> BAR decoder -> the NIC's registers
    link.down_out.bind(bar_decoder.in);
    bar_decoder.map(dut.mmio, NIC_BAR0, regs::BAR0_SIZE, "nic BAR0");
    wire.bind(dut.port);  // the far end of the Ethernet link
    SC_THREAD(run);
  }

  void write_reg(uint32_t offset, uint32_t v) { access(::tlm::TLM_WRITE_COMMAND, offset, &v); }
  uint32_t read_reg(uint32_t offset) {
    uint32_t v = 0;
    access(::tlm::TLM_READ_COMMAND, offset, &v);
    return v;
  }
  regs::e1000_rx_desc desc(unsigned i) {
    return regs::read_desc<regs::e1000_rx_desc>(mem.ptr(RING, 0x1000), i);
  }
  const uint8_t* buffer(unsigned i) { return mem.ptr(BUFFERS + 2048 * i, 2048); }

  // What e1000's open does for RX, minus the host: the ring in memory, its registers, the MSI
  // address and data, all interrupt causes, receive on with the FCS stripped.
  void open_rx() {
    for (unsigned i = 0; i < RING_SIZE; ++i) {
      regs::e1000_rx_desc d{};
      d.buffer_addr = BUFFERS + 2048 * i;
      regs::write_desc(mem.ptr(RING, 0x1000), i, d);
    }
    write_reg(regs::RDBAL, static_cast<uint32_t>(RING));
    write_reg(regs::RDBAH, 0);
    write_reg(regs::RDLEN, RING_SIZE * regs::RX_DESC_SIZE);
    write_reg(regs::RDH, 0);
    write_reg(regs::RDT, 0);
    write_reg(regs::MSI_ADDR_LO, static_cast<uint32_t>(MSI_BASE));
    write_reg(regs::MSI_ADDR_HI, 0);
    write_reg(regs::MSI_DATA, MSI_VECTOR);
    write_reg(regs::RXC_USECS, 0);  // no moderation: an interrupt per write-back
    write_reg(regs::IMS, regs::IMS_ENABLE_MASK);
    write_reg(regs::RCTL, regs::RCTL_EN | regs::RCTL_SECRC);
  }

  static nicsim::proto::wire_frame frame(uint32_t seq, size_t bytes) {
    nicsim::proto::wire_frame f;
    f.id = seq;
    f.bytes = nicsim::proto::build_udp_frame(nicsim::proto::udp_flow{}, bytes, {seq, 0});
    return f;
  }

  nicsim::tlm::host_memory mem;
  nicsim::tlm::pcie_link link;
  nicsim::tlm::address_router root_complex, bar_decoder;
  msi_catcher msi;
  nicsim::hw::nic dut;
  nicsim::tlm::eth_port wire;
  tlm_utils::simple_initiator_socket<device_bench> cpu;

 private:
  void access(::tlm::tlm_command cmd, uint32_t offset, uint32_t* v) {
    ::tlm::tlm_generic_payload t;
    nicsim::tlm::prepare_payload(t, cmd, NIC_BAR0 + offset, v, 4);
    sc_time delay = sc_core::SC_ZERO_TIME;
    cpu->b_transport(t, delay);  // a non-posted read waits for its completion over the link
    sc_core::wait(delay);
    ASSERT_EQ(t.get_response_status(), ::tlm::TLM_OK_RESPONSE) << "BAR0 + " << offset;
  }
  void run() { m_body(*this); }
  std::function<void(device_bench&)> m_body;
};

TEST(nic_device, frames_land_in_host_memory_without_their_fcs_and_raise_an_msi) {
  std::vector<nicsim::proto::wire_frame> sent;
  for (uint32_t i = 0; i < 4; ++i) sent.push_back(device_bench::frame(i, 128 + 64 * i));
  bool ran = false;
  device_bench bench("bench", [&](device_bench& b) {
    b.open_rx();
    b.write_reg(regs::RDT, RING_SIZE - 1);  // hand 15 descriptors to the device
    for (const auto& f : sent) b.wire.transmit(f);
    sc_core::wait(b.msi.arrived);
    sc_core::wait(20, SC_US);  // let every write-back land
    for (unsigned i = 0; i < sent.size(); ++i) {
      const auto d = b.desc(i);
      const size_t len = sent[i].bytes.size() - 4;  // SECRC: the FCS is not written
      EXPECT_EQ(d.status & (regs::RXD_STAT_DD | regs::RXD_STAT_EOP), regs::RXD_STAT_DD | regs::RXD_STAT_EOP)
          << i;
      EXPECT_EQ(d.length, len) << i;
      EXPECT_EQ(std::memcmp(b.buffer(i), sent[i].bytes.data(), len), 0) << i;
    }
    EXPECT_EQ(b.desc(sent.size()).status, 0) << "no descriptor past the last frame is used";
    EXPECT_EQ(b.read_reg(regs::RDH), sent.size());
    EXPECT_EQ(b.read_reg(regs::GPRC), sent.size());
    EXPECT_NE(b.read_reg(regs::ICR) & regs::ICR_RXT0, 0u) << "the receive timer cause";
    ASSERT_FALSE(b.msi.data.empty());
    EXPECT_EQ(b.msi.data.front(), MSI_VECTOR);
    ran = true;
  });
  sc_core::sc_start(sc_time(200, SC_US));
  EXPECT_TRUE(ran);
}

TEST(nic_device, a_frame_with_a_bad_fcs_is_counted_in_crcerrs_and_never_reaches_memory) {
  bool ran = false;
  device_bench bench("bench", [&](device_bench& b) {
    b.open_rx();
    b.write_reg(regs::RDT, RING_SIZE - 1);
    auto bad = device_bench::frame(7, 256);
    bad.bytes.back() ^= 0xFF;  // damage the FCS
    b.wire.transmit(bad);
    b.wire.transmit(device_bench::frame(8, 256));
    sc_core::wait(20, SC_US);
    EXPECT_EQ(b.read_reg(regs::CRCERRS), 1u);
    EXPECT_EQ(b.read_reg(regs::GPRC), 1u);
    EXPECT_EQ(b.read_reg(regs::RDH), 1u) << "only the good frame took a descriptor";
    const auto d = b.desc(0);
    EXPECT_EQ(d.length, 252u);
    uint32_t seq = 0;
    nicsim::proto::payload_stamp stamp;
    ASSERT_TRUE(nicsim::proto::read_payload_stamp(b.buffer(0) + 42, d.length - 42, &stamp));
    seq = stamp.seq;
    EXPECT_EQ(seq, 8u) << "the good frame, not the damaged one";
    ran = true;
  });
  sc_core::sc_start(sc_time(100, SC_US));
  EXPECT_TRUE(ran);
}

}  // namespace
