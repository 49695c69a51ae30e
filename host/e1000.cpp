#include "host/e1000.h"

#include <cstring>
#include <stdexcept>

#include "hw/nic_regs.h"
#include "proto/frame.h"
#include "tlm/host_memory.h"

namespace nicsim::host {

namespace regs = nicsim::hw::regs;

namespace {
constexpr unsigned E1000_RX_BUFFER_WRITE = 16;  // refill in batches of this many
// SKB_TRUESIZE(X) = X + SKB_DATA_ALIGN(sizeof(struct sk_buff)) + SKB_DATA_ALIGN(sizeof(struct
// skb_shared_info))
constexpr unsigned SKB_OVERHEAD = 256 + 320;

uint32_t rxc_mode(e1000_params::coalesce_mode m) {
  switch (m) {
    case e1000_params::coalesce_mode::e1000:
      return regs::RXC_MODE_E1000;
    case e1000_params::coalesce_mode::arm:
      return regs::RXC_MODE_ARM;
    case e1000_params::coalesce_mode::ethtool:
      break;
  }
  return regs::RXC_MODE_ETHTOOL;
}
}  // namespace

e1000_adapter::e1000_adapter(const sc_core::sc_module_name& name, const e1000_params& params, cpu& c,
                             netstack& stack, tlm::host_memory& mem, rx_buffer_pool& buffers, skb_cache& skbs,
                             uint64_t bar0)
    : sc_core::sc_module(name),
      mmio("mmio"),
      m_params(params),
      m_irq_cpu(c),
      m_stack(stack),
      m_mem(mem),
      m_buffers(buffers),
      m_skbs(skbs),
      m_bar0(bar0),
      m_buffer_info(params.rx_ring_size, 0) {
  m_napi.name = "eth0";
  m_napi.weight = params.napi_weight;
  m_napi.poll_name = "e1000_clean";
  m_stack.napi_observe(m_napi);
  m_napi.poll = [this](napi_struct& n, int budget) { return e1000_clean(n, budget); };
  m_ring = m_mem.ptr(params.ring_dma, uint64_t{params.rx_ring_size} * regs::RX_DESC_SIZE);
  m_irq_cpu.request_irq(
      params.msi_vector, [this](unsigned v) { e1000_intr(v); }, "e1000_intr");
}

uint32_t e1000_adapter::er32(uint32_t reg) {
  uint32_t v = 0;
  ::tlm::tlm_generic_payload t;
  t.set_command(::tlm::TLM_READ_COMMAND);
  t.set_address(m_bar0 + reg);
  t.set_data_ptr(reinterpret_cast<unsigned char*>(&v));
  t.set_data_length(4);
  t.set_streaming_width(4);
  t.set_response_status(::tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  ++m_stats.mmio_reads;
  cpu& c = cpu::this_cpu();
  mmio->b_transport(t, delay);  // the load stalls the CPU for the whole round trip (inside the link)
  c.resume();                   // other CPUs ran while this one waited
  c.stall(delay);
  if (t.is_response_error())
    SC_REPORT_ERROR(name(), ("MMIO read failed: " + t.get_response_string()).c_str());
  return v;
}

void e1000_adapter::ew32(uint32_t reg, uint32_t value) {
  cpu::this_cpu().charge(cost::mmio_write);
  ::tlm::tlm_generic_payload t;
  t.set_command(::tlm::TLM_WRITE_COMMAND);
  t.set_address(m_bar0 + reg);
  t.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
  t.set_data_length(4);
  t.set_streaming_width(4);
  t.set_response_status(::tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  ++m_stats.mmio_writes;
  mmio->b_transport(t, delay);  // posted: the store buffer takes it
  if (t.is_response_error())
    SC_REPORT_ERROR(name(), ("MMIO write failed: " + t.get_response_string()).c_str());
}

uint8_t* e1000_adapter::desc(unsigned i) const { return m_ring + uint64_t{i} * regs::RX_DESC_SIZE; }

unsigned e1000_adapter::desc_unused() const {  // E1000_DESC_UNUSED
  return (m_next_to_clean > m_next_to_use ? 0 : m_params.rx_ring_size) + m_next_to_clean - m_next_to_use - 1;
}

void e1000_adapter::e1000_open() {
  const unsigned n = m_params.rx_ring_size;
  std::memset(m_ring, 0, uint64_t{n} * regs::RX_DESC_SIZE);
  ew32(regs::RDBAL, static_cast<uint32_t>(m_params.ring_dma));
  ew32(regs::RDBAH, static_cast<uint32_t>(m_params.ring_dma >> 32));
  ew32(regs::RDLEN, n * regs::RX_DESC_SIZE);
  ew32(regs::RDH, 0);
  ew32(regs::RDT, 0);
  ew32(regs::RXC_USECS, m_params.rx_usecs);
  ew32(regs::RXC_FRAMES, m_params.rx_frames);
  // e1000_configure_rx: delay timers, then the throttle.
  ew32(regs::RDTR, m_params.rdtr);
  ew32(regs::RADV, m_params.radv);
  ew32(regs::ITR, m_params.itr);
  ew32(regs::RXC_MIN_INTERVAL, m_params.min_interval_ns);
  ew32(regs::RXC_MODE, rxc_mode(m_params.coalesce));
  ew32(regs::MSI_ADDR_LO, static_cast<uint32_t>(m_params.msi_address));
  ew32(regs::MSI_ADDR_HI, static_cast<uint32_t>(m_params.msi_address >> 32));
  ew32(regs::MSI_DATA, m_params.msi_vector);
  e1000_alloc_rx_buffers(desc_unused());
  ew32(regs::RXCSUM, m_params.rx_csum ? regs::RXCSUM_TUOFL : 0);  // e1000_configure_rx
  ew32(regs::RCTL, regs::RCTL_EN | regs::RCTL_SECRC);
  e1000_irq_enable();
}

void e1000_adapter::e1000_irq_enable() {
  ew32(regs::IMS, regs::IMS_ENABLE_MASK);
  er32(regs::STATUS);  // E1000_WRITE_FLUSH
}

void e1000_adapter::e1000_intr(unsigned /*vector*/) {
  if (!m_params.napi) {
    e1000_intr_legacy();
    return;
  }
  cpu::this_cpu().charge(cost::e1000_intr);
  const uint32_t icr = er32(regs::ICR);
  if (icr == 0) {
    ++m_stats.spurious_irqs;  // IRQ_NONE
    return;
  }
  // Disable interrupts until the poll is done, without the synchronize_irq bit.
  ew32(regs::IMC, ~0u);
  er32(regs::STATUS);  // E1000_WRITE_FLUSH
  if (m_stack.napi_schedule_prep(m_napi))
    m_stack.__napi_schedule(m_napi);
  else
    e1000_irq_enable();  // "this really should not happen!"
}

// Before NAPI: clean everything in the handler, passing each frame to netif_rx;
// the interrupt stays enabled (E1000_MAX_INTR rounds per interrupt).
void e1000_adapter::e1000_intr_legacy() {
  constexpr int E1000_MAX_INTR = 10;
  cpu::this_cpu().charge(cost::e1000_intr);
  if (er32(regs::ICR) == 0) {
    ++m_stats.spurious_irqs;
    return;
  }
  for (int i = 0; i < E1000_MAX_INTR; ++i) {
    int work_done = 0;
    e1000_clean_rx_irq(&work_done, static_cast<int>(m_params.rx_ring_size));
    if (work_done == 0) break;
  }
}

int e1000_adapter::e1000_clean(napi_struct& napi, int budget) {
  int work_done = 0;
  e1000_clean_rx_irq(&work_done, budget);
  if (work_done == budget) return budget;  // stay scheduled, even at exactly the budget
  if (m_stack.napi_complete_done(napi, work_done)) e1000_irq_enable();
  return work_done;
}

void e1000_adapter::e1000_clean_rx_irq(int* work_done, int work_to_do) {
  unsigned i = m_next_to_clean;
  unsigned cleaned_count = 0;
  while (desc(i)[regs::RXD_STATUS] & regs::RXD_STAT_DD) {
    if (*work_done >= work_to_do) break;
    (*work_done)++;
    cpu::this_cpu().charge(cost::clean_rx_desc);  // dma_rmb, read the written-back descriptor
    uint8_t* d = desc(i);
    uint16_t length = 0;
    std::memcpy(&length, d + regs::RXD_LENGTH, 2);
    const uint8_t status = d[regs::RXD_STATUS];
    const uint64_t buffer = m_buffer_info[i];
    m_buffer_info[i] = 0;

    cpu::this_cpu().charge(cost::build_skb);
    sk_buff* skb = m_skbs.alloc();
    ++m_stats.rx_cleaned;
    skb->napi = &m_napi;
    skb->buf_addr = buffer;
    skb->head = m_buffers.ptr(buffer);
    skb->len = length;
    skb->truesize = m_buffers.buffer_len() + SKB_OVERHEAD;
    // e1000_rx_checksum: IXSM says the hardware did not check; TCPE that it found an error.
    skb->ip_summed = CHECKSUM_NONE;
    if (!(status & regs::RXD_STAT_IXSM)) {
      if (d[regs::RXD_ERRORS] & regs::RXD_ERR_TCPE) {
        ++m_stats.hw_csum_err;  // let the stack find and count it
      } else if (status & regs::RXD_STAT_TCPCS) {
        skb->ip_summed = CHECKSUM_UNNECESSARY;
        ++m_stats.hw_csum_good;
      }
    }
    cpu::this_cpu().charge(cost::eth_type_trans);
    skb->protocol = skb->len >= proto::ETH_HLEN ? proto::get_be16(skb->head + 12) : 0;
    skb->pull(std::min<unsigned>(skb->len, proto::ETH_HLEN));
    if (auto* o = cpu::this_cpu().observer()) {
      const int64_t seq = skb_frame_seq(*skb);
      if (seq >= 0)
        o->frame(static_cast<uint64_t>(seq), waves::frame_stage::driver_clean, cpu::this_cpu().track());
    }
    d[regs::RXD_STATUS] = 0;
    if (++cleaned_count >= E1000_RX_BUFFER_WRITE) {
      m_next_to_clean = (i + 1) % m_params.rx_ring_size;
      e1000_alloc_rx_buffers(cleaned_count);
      cleaned_count = 0;
    }
    i = (i + 1) % m_params.rx_ring_size;
    m_next_to_clean = i;
    if (m_params.napi)
      m_stack.napi_gro_receive(skb);
    else
      m_stack.netif_rx(skb);
  }
  m_next_to_clean = i;
  const unsigned unused = desc_unused();
  if (unused) e1000_alloc_rx_buffers(unused);
}

void e1000_adapter::e1000_alloc_rx_buffers(unsigned cleaned_count) {
  unsigned i = m_next_to_use;
  while (cleaned_count--) {
    const uint64_t buf = m_buffers.alloc();
    if (buf == 0) {
      ++m_stats.alloc_rx_buff_failed;
      break;
    }
    cpu::this_cpu().charge(cost::alloc_rx_buffer);
    m_buffer_info[i] = buf;
    uint8_t* d = desc(i);
    std::memset(d, 0, regs::RX_DESC_SIZE);
    std::memcpy(d + regs::RXD_BUFFER_ADDR, &buf, 8);
    i = (i + 1) % m_params.rx_ring_size;
  }
  if (m_next_to_use != i) {
    m_next_to_use = i;
    const unsigned tail = i == 0 ? m_params.rx_ring_size - 1 : i - 1;
    ++m_stats.rx_tail_writes;
    ew32(regs::RDT, tail);  // after a write barrier: descriptors before the tail
  }
}

}  // namespace nicsim::host
