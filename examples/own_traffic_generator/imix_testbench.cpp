// Your own traffic generator in place of nicsim's built-in link partner: an sc_module with a
// tlm::eth_port, bound to the NIC's port, sending a simple IMIX (7 x 64 B, 4 x 576 B, 1 x 1518 B)
// in back-to-back bursts. It counts what it sends; nicsim's ledger must account for every one
// of those frames (delivered to the application, dropped under one named counter, or in flight),
// and the NIC's own counters must agree with the generator's.
//
//   imix_testbench [WAVES.fst]     exit 0 when every check holds, 1 otherwise
#include <nicsim/proto/frame.h>
#include <nicsim/tb/testbench.h>
#include <nicsim/tlm/eth_port.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <systemc>

namespace {

class imix_generator : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(imix_generator);
  imix_generator(const sc_core::sc_module_name& name, double line_rate_gbps,
                 const nicsim::proto::udp_flow& flow, unsigned bursts, const sc_core::sc_event& link_up)
      : sc_core::sc_module(name),
        port("port", line_rate_gbps),
        m_flow(flow),
        m_bursts(bursts),
        m_link_up(link_up) {
    // What the NIC sends back (nothing here: the host's application only receives).
    port.register_receive([this](const nicsim::proto::wire_frame&) { ++received; });
    SC_THREAD(run);
  }

  nicsim::tlm::eth_port port;  // serializes at the link's rate; the NIC's port takes it when bound
  uint64_t sent = 0, sent_bytes = 0, received = 0;

 private:
  void run() {
    sc_core::wait(m_link_up);  // the driver has brought the link up
    static const unsigned imix[12] = {64, 576, 64, 64, 576, 64, 1518, 64, 576, 64, 576, 64};
    for (unsigned b = 0; b < m_bursts; ++b) {
      for (unsigned i = 0; i < 12; ++i) {
        nicsim::proto::payload_stamp stamp;  // lets the host's application measure latency
        stamp.seq = static_cast<uint32_t>(sent);
        stamp.tx_ns = sc_core::sc_time_stamp().value() / 1000;
        nicsim::proto::wire_frame f;
        f.id = sent;
        f.first_bit_ps = sc_core::sc_time_stamp().value();
        f.bytes = nicsim::proto::build_udp_frame(m_flow, imix[i], stamp);
        port.transmit(f);  // returns when the frame has left at line rate
        ++sent;
        sent_bytes += imix[i];
      }
      sc_core::wait(20, sc_core::SC_US);  // a gap between bursts, for the host to catch up
    }
  }

  nicsim::proto::udp_flow m_flow;
  unsigned m_bursts;
  const sc_core::sc_event& m_link_up;
};

int failures = 0;
void check(bool ok, const std::string& what) {
  std::cout << (ok ? "ok:     " : "FAILED: ") << what << "\n";
  if (!ok) ++failures;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  nicsim::tb::testbench_options o;
  o.external_partner = true;  // no built-in partner: ours binds to the NIC's port
  o.sets = {"sim.duration_us=1500", "nic.rx_ring_size=512"};
  if (argc > 1) o.trace.waves = argv[1];
  nicsim::tb::testbench tb(o);

  // The link's rate (knob nic.line_rate_gbps) and the flow the host's application listens to
  // (its address and port), from the knobs.
  const auto& knobs = tb.params().traffic;
  imix_generator gen("imix", knobs.line_rate_gbps, knobs.flow, 50, tb.link_up());
  gen.port.bind(tb.nic_port());
  tb.run();

  const auto j = tb.results();
  const auto& c = j.at("conservation");
  const uint64_t delivered = c.at("delivered").get<uint64_t>(), dropped = c.at("dropped").get<uint64_t>(),
                 in_flight = c.at("in_flight").get<uint64_t>();
  std::cout << "generator sent " << gen.sent << " frames (" << gen.sent_bytes << " B); delivered "
            << delivered << ", dropped " << dropped << ", in flight " << in_flight << "\n";
  check(gen.sent == 600, "the generator sent its 50 bursts of 12");
  check(delivered > 0, "the application received");
  check(j.at("wire").at("frames").get<uint64_t>() == gen.sent, "the NIC's port counted every frame sent");
  check(j.at("wire").at("bytes").get<uint64_t>() == gen.sent_bytes, "and every byte");
  check(delivered + dropped + in_flight == gen.sent, "delivered + dropped + in flight = sent");
  check(c.at("ok").get<bool>(), "nicsim's ledger closes (conservation.ok)");
  check(j.at("app").at("bad_payloads").get<uint64_t>() == 0, "the application read the bytes sent");
  check(gen.received == j.at("nic").at("tx_frames").get<uint64_t>(),
        "what the NIC sent reached the generator");
  tb.finish();  // writes the waves, if asked for
  return failures == 0 ? 0 : 1;
}
