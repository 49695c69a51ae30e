#pragma once
// A receiving TCP application (traffic.proto=tcp): a listener on app.port, an acceptor task
// blocked in accept(2), and for every accepted connection app.readers reader tasks looping
// recv(2) (tcp_recvmsg) of up to app.read_bytes with SO_RCVLOWAT app.rcvlowat, each read
// followed by per-read work in user mode. The readers check every byte they read against the
// stream the link partner sends (proto/tcp_stream.h), at the stream offset the read started.
//
// Readers and connections: as app.readers readers share one UDP socket, app.readers readers
// share each accepted connection's socket. Connection k (the partner's k-th connection, from
// source port traffic.src_port + k) is read by the readers named comm/k-r, r < app.readers;
// they are created when the application starts and sleep until the acceptor has accepted
// connection k. Reads on one socket are serialized by lock_sock, so the readers of a
// connection take consecutive pieces of its stream (with SO_RCVLOWAT above 1 a reader that
// sleeps after a partial copy may get two runs of the stream in one read, as in the kernel:
// each run is checked at its own offset).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "host/apps/udp_app.h"
#include "host/kernel/cpu.h"
#include "host/kernel/sched/wait.h"
#include "host/net/ipv4/tcp.h"

namespace nicsim::host {

struct tcp_app_params {
  uint16_t port = 9000;
  unsigned connections = 1;         // the partner's connections (traffic.flows): readers are made for each
  uint16_t peer_port_base = 10000;  // the partner's source port of connection 0 (traffic.src_port)
  unsigned readers = 1;             // per connection
  bool pinned = true;
  std::string comm = "tcp_reader";
  size_t read_bytes = 65536;  // recv(fd, buf, read_bytes, 0)
  uint64_t rcvlowat = 1;      // SO_RCVLOWAT
  unsigned backlog = 4096;    // listen(fd, backlog)
  sc_core::sc_time work{500, sc_core::SC_NS};
};

struct tcp_app_stats {
  uint64_t reads = 0;  // recv calls that returned data
  uint64_t bytes = 0;
  uint64_t bad_payloads = 0;  // reads with a byte that is not the stream's
  uint64_t out_of_order = 0;  // reads overlapping bytes already read (read twice or backwards)
  uint64_t accepted = 0;
  uint64_t unknown_peer = 0;  // accepted connections from a port that is no connection of the partner's
  std::vector<uint64_t> per_reader;  // reads per reader (connection-major)
};

class tcp_app {
 public:
  tcp_app(cpu& c, tcp& proto, const tcp_app_params& params);
  const tcp_app_stats& stats() const { return m_stats; }
  const tcp_sock& listener() const { return m_listener; }
  // Accepted connections by index k (null until accepted).
  const std::vector<tcp_sock*>& connections() const { return m_conns; }
  // Bytes of connection k the readers have counted: every byte of [0, contiguous(k)) was read
  // exactly once; read(k) - contiguous(k) were read ahead of a gap (another reader's piece
  // not yet counted).
  uint64_t contiguous(unsigned k) const { return m_conn_state.at(k).contiguous; }
  uint64_t bytes_read(unsigned k) const { return m_conn_state.at(k).bytes; }
  // Bytes copied to a reader whose recv has not returned yet (in flight to the application).
  uint64_t returning_bytes() const { return m_returning_bytes; }
  uint64_t returning_bytes(unsigned k) const { return m_conn_state.at(k).returning; }
  // Readers of connection k inside recv (tcp_recvmsg may have copied up to read_bytes each
  // that the application has not counted yet).
  unsigned in_recv(unsigned k) const { return m_conn_state.at(k).in_recv; }
  size_t read_bytes() const { return m_params.read_bytes; }

 private:
  void acceptor();
  void reader(unsigned k, unsigned r);
  void received(unsigned k, unsigned index, uint64_t offset, const uint8_t* buf, size_t n);
  // One read's runs of consecutive stream offsets (tcp_recvmsg's pieces), per reader.
  std::vector<std::vector<std::pair<uint64_t, size_t>>> m_pieces;

  struct conn_state {
    wait_queue_head wq;  // readers waiting for the connection to be accepted
    uint64_t contiguous = 0, bytes = 0, returning = 0;
    unsigned in_recv = 0;
    std::map<uint64_t, uint64_t> ahead;  // pieces counted beyond contiguous: offset → end
  };
  cpu& m_home;
  tcp& m_tcp;
  tcp_app_params m_params;
  tcp_sock& m_listener;
  std::vector<tcp_sock*> m_conns;
  std::vector<conn_state> m_conn_state;
  std::vector<task_struct*> m_tasks;
  std::vector<std::unique_ptr<uint8_t[]>> m_user_buffers;
  uint64_t m_returning_bytes = 0;
  tcp_app_stats m_stats;
};

}  // namespace nicsim::host
