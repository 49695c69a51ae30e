// The bare-CPU-and-driver bench host_tx_test and tcp_test share: one CPU, the netstack and an
// e1000 driver, no device. A register sink takes the driver's MMIO, and the test, acting as the
// device, writes DD into the transmit descriptors it wants completed (complete()).
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "abi/e1000_hw.h"
#include "host/cost_table.h"
#include "host/drivers/net/ethernet/intel/e1000/e1000.h"
#include "host/kernel/cpu.h"
#include "host/net/netstack.h"
#include "tb/system_top.h"
#include "tlm/host_memory.h"

namespace nicsim::tb::test {

using namespace nicsim::host;
namespace regs = nicsim::abi;
using sc_core::sc_time;

inline const cost_table& costs() {
  static const cost_table t = cost_table::defaults(3.0);
  return t;
}

// BAR0 as a plain register store: every write kept, reads return the last value written.
struct reg_sink : sc_core::sc_module {
  tlm_utils::simple_target_socket<reg_sink> socket{"socket"};
  std::map<uint64_t, uint32_t> regs_;
  std::vector<uint32_t> tdt_writes;
  explicit reg_sink(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    socket.register_b_transport(this, &reg_sink::b_transport);
  }
  void b_transport(::tlm::tlm_generic_payload& t, sc_time&) {
    uint32_t v = 0;
    if (t.is_write()) {
      std::memcpy(&v, t.get_data_ptr(), 4);
      regs_[t.get_address()] = v;
      if (t.get_address() == regs::TXQ_BASE(0) + regs::TDT_OFF) tdt_writes.push_back(v);
    } else {
      v = regs_.count(t.get_address()) ? regs_[t.get_address()] : 0;
      if (t.get_address() == regs::ICR) v = 0;
      std::memcpy(t.get_data_ptr(), &v, 4);
    }
    t.set_response_status(::tlm::TLM_OK_RESPONSE);
  }
};

// Nothing DMAs here, but host memory's target socket must be bound.
struct dma_stub : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<dma_stub> socket{"socket"};
  explicit dma_stub(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {}
};

struct tx_bench {
  nicsim::tlm::host_memory mem{"mem", 4 << 20, sc_core::SC_ZERO_TIME};
  dma_stub dma{"dma"};
  cpu c{"cpu", 0, costs()};
  skb_cache skbs;
  rx_buffer_pool rx;
  rx_buffer_pool txbufs{mem, 0x300000, 2048, 256};
  netstack stack;
  reg_sink sink{"sink"};
  std::unique_ptr<e1000_adapter> drv;
  static netstack_params net() { return netstack_params{}; }
  // rx_buffers: the receive pool's buffers (the TCP tests queue more than the UDP ones).
  explicit tx_bench(e1000_params p, unsigned rx_buffers = 64)
      : rx(mem, 0x200000, 2048, rx_buffers), stack({&c}, skbs, rx, &txbufs, net()) {
    dma.socket.bind(mem.socket);
    p.rx_ring_size = 16;
    drv = std::make_unique<e1000_adapter>("eth0", p, std::vector<cpu*>{&c}, stack.core(), stack.skb(), mem,
                                          rx, skbs, 0);
    drv->mmio.bind(sink.socket);
    c.request_irq(
        0x30, [](unsigned) {}, "test");  // an interrupt whose irq_exit runs softirqs
  }
  static e1000_params params(unsigned ring, unsigned txqueuelen, bool bql) {
    e1000_params p;
    p.tx_ring_size = ring;
    p.tx_queue_len = txqueuelen;
    p.bql = bql;
    return p;
  }
  netdev_queue& txq() { return *stack.core().dev()->tx.at(0); }
  regs::e1000_tx_desc desc(unsigned i) {
    return regs::read_desc<regs::e1000_tx_desc>(mem.ptr(drv->tx_ring(0).dma, 4096), i);
  }
  // The device's write-back: DD on descriptors [from, to).
  void complete(unsigned from, unsigned to) {
    uint8_t* ring = mem.ptr(drv->tx_ring(0).dma, 4096);
    for (unsigned i = from; i < to; ++i) {
      auto d = regs::read_desc<regs::e1000_tx_desc>(ring, i);
      d.upper.data |= regs::TXD_STAT_DD;
      regs::write_desc(ring, i, d);
    }
  }
  long send(udp_sock& sk, unsigned payload = 100) {
    std::vector<uint8_t> buf(payload, 0xAB);
    return stack.udp().udp_sendmsg(sk, buf.data(), buf.size(), sockaddr_in{0x0A000001, 40000});
  }
  sc_time run_for{1, sc_core::SC_MS};  // how long run() simulates
  void run(std::function<void()> body) {
    c.kthread_create("t", [this, body] {
      cpu::this_cpu().current()->in_kernel = true;
      drv->e1000_open();
      body();
      c.current()->state = task_struct::TASK_INTERRUPTIBLE;
      c.schedule();
    });
    sc_core::sc_start(run_for);
    nicsim::tb::unwind_threads();
  }
  // From the task: take an interrupt now, so pending softirqs (NET_TX) run at its irq_exit.
  void interrupt() {
    c.raise_irq(0x30);
    c.charge(sc_time(1, sc_core::SC_US));
  }
};

}  // namespace nicsim::tb::test
