#pragma once
// A receiving application: readers blocked in recvfrom on one UDP socket,
// each message followed by per-message work in user mode. The readers check
// every byte they read against what the sender stamped and filled in.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "host/kernel/cpu.h"
#include "host/net/ipv4/udp.h"
#include "host/value_histogram.h"

namespace nicsim::host {

struct udp_app_params {
  uint16_t port = 9000;
  unsigned readers = 1;
  bool pinned = true;                                 // false: the scheduler may move readers between CPUs
  bool nonblocking = false;                           // O_NONBLOCK: a busy loop of recvfrom that never sleeps
  sc_core::sc_time busy_poll{sc_core::SC_ZERO_TIME};  // SO_BUSY_POLL
  std::string comm = "udp_reader";                    // readers are comm/0, comm/1, ...
  uint64_t rcvbuf_bytes = 0;  // setsockopt(SO_RCVBUF) value; 0: not called (rmem_default)
  sc_core::sc_time work{500, sc_core::SC_NS};
  bool record = false;  // keep every message's sequence number and latency (udp_app::record())
  // reader: read and count; echo: every message read is sent back with sendto to the address
  // and port it came from, its bytes (and so the sender's stamp) unchanged.
  enum class role_t { reader, echo };
  role_t role = role_t::reader;
  uint64_t sndbuf_bytes = 212992;  // SO_SNDBUF (net.core.wmem_default)
  // echo: the response's UDP payload size, as netperf's netserver answers UDP_RR with the
  // response size it was told on the control connection (-r req,resp). 0: the request's
  // bytes unchanged. Otherwise the response carries the request's stamp and the sender's
  // filler pattern, at this size.
  size_t response_payload = 0;
};

struct udp_app_stats {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t bad_payloads = 0;         // bytes differ from what the sender wrote
  uint64_t out_of_order = 0;         // sequence went backwards (within one reader)
  uint64_t eagain = 0;               // recvfrom returned EAGAIN (non-blocking readers)
  value_histogram latency_ns;        // first bit on the wire → recvfrom returns, ns → messages
  std::vector<uint64_t> per_reader;  // messages per reader
  uint64_t sent = 0;                 // echo: datagrams sendto accepted
  uint64_t sent_bytes = 0;
  uint64_t send_errors = 0;  // echo: sendto returned an error
};

// Every message in delivery order (all readers), when udp_app_params::record asks for it:
// this grows with every message, so a run keeps it only on request.
struct udp_app_record {
  std::vector<uint32_t> seqs;
  std::vector<uint64_t> latency_ns;
};

class udp_app {
 public:
  udp_app(cpu& c, udp& proto, const udp_app_params& params);
  const udp_app_stats& stats() const { return m_stats; }
  const udp_app_record& record() const { return m_record; }
  const udp_sock& sock() const { return m_sock; }
  const std::vector<task_struct*>& readers() const { return m_readers; }
  // Messages copied to a reader whose recvfrom has not returned yet (in flight).
  unsigned returning() const { return m_returning; }

 private:
  void reader(unsigned index);
  // Counts, verifies and times a message recvfrom has returned.
  void received(const uint8_t* buf, size_t n, unsigned index);

  cpu& m_home;  // the CPU its readers start on (and stay on when pinned)
  udp& m_udp;
  udp_app_params m_params;
  udp_sock& m_sock;
  std::vector<task_struct*> m_readers;
  std::vector<int64_t> m_last_seq;  // per reader: the in-order check is running state
  unsigned m_returning = 0;
  std::vector<uint8_t> m_response;  // echo with a response size of its own
  // One recvfrom buffer per reader, left uninitialized: the host OS commits only the
  // pages a datagram is copied into, not 64 KiB for every reader of every socket.
  std::vector<std::unique_ptr<uint8_t[]>> m_user_buffers;
  udp_app_stats m_stats;
  udp_app_record m_record;
};

}  // namespace nicsim::host
