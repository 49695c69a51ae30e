#include "tb/knobs.h"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <type_traits>
#include <utility>

#include "tb/system_top.h"

namespace nicsim::tb {

namespace {

using sc_core::sc_time;
using sc_core::sc_time_unit;

// The type of the field a binder reaches: F is [](auto& p) -> auto& { return p.a.b; }.
template <class F>
using field_t = std::remove_reference_t<decltype(std::declval<F>()(std::declval<system_params&>()))>;

double parse(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

using setter = std::function<void(system_params&, const std::string&)>;
using getter = std::function<std::string(const system_params&)>;

knob_decl make(const char* key, config::kind type, double min, double max, std::vector<std::string> choices,
               const char* unit, const char* help, setter set, getter get) {
  knob_decl k;
  k.key = key;
  k.type = type;
  k.min = min;
  k.max = max;
  k.choices = std::move(choices);
  k.unit = unit;
  k.help = help;
  k.set = std::move(set);
  k.get = std::move(get);
  return k;
}

// A real number, stored as it is.
template <class F>
knob_decl number(const char* key, double min, double max, const char* unit, const char* help, F field) {
  static_assert(std::is_same_v<field_t<F>, double>, "number() binds a double field");
  return make(
      key, config::kind::number, min, max, {}, unit, help,
      [field](system_params& p, const std::string& v) { field(p) = parse(v); },
      [field](const system_params& p) { return config::format_number(field(p)); });
}

// A whole number into any integer field (config has checked the range; the test
// tb/tests/knobs_test.cpp checks that min and max fit the field).
template <class F>
knob_decl integer(const char* key, double min, double max, const char* unit, const char* help, F field) {
  using T = field_t<F>;
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>, "integer() binds an integer field");
  return make(
      key, config::kind::integer, min, max, {}, unit, help,
      [field](system_params& p, const std::string& v) {
        field(p) = static_cast<T>(static_cast<int64_t>(parse(v)));
      },
      [field](const system_params& p) {
        if constexpr (std::is_signed_v<T>)
          return std::to_string(static_cast<long long>(field(p)));
        else
          return std::to_string(static_cast<unsigned long long>(field(p)));
      });
}

const char* unit_text(sc_time_unit u) {
  return u == sc_core::SC_US ? "us" : u == sc_core::SC_NS ? "ns" : "?";
}

// A time in `u` (us, ns: also the knob's unit), number or integer, into an sc_time field.
template <class F>
knob_decl duration(const char* key, config::kind type, sc_time_unit u, double min, double max,
                   const char* help, F field) {
  static_assert(std::is_same_v<field_t<F>, sc_time>, "duration() binds an sc_time field");
  return make(
      key, type, min, max, {}, unit_text(u), help,
      [field, u](system_params& p, const std::string& v) { field(p) = sc_time(parse(v), u); },
      [field, u](const system_params& p) { return config::format_number(field(p) / sc_time(1, u)); });
}

// One of a few words, each standing for a value of the field (a bool, an enum, a number);
// the words are listed in this order in `nicsim knobs` and the README.
template <class F>
knob_decl choice(const char* key, std::vector<std::pair<std::string, field_t<F>>> options, const char* help,
                 F field) {
  std::vector<std::string> words;
  for (const auto& o : options) words.push_back(o.first);
  return make(
      key, config::kind::choice, 0, 0, std::move(words), "", help,
      [field, options](system_params& p, const std::string& v) {
        for (const auto& o : options)
          if (o.first == v) field(p) = o.second;
      },
      [field, options](const system_params& p) {
        for (const auto& o : options)
          if (o.second == field(p)) return o.first;
        return std::string();  // no word for the field's value: config() rejects the default
      });
}

// Three ascending integers written min,default,max (a sysctl vector), into a
// std::array<uint64_t, 3>.
template <class F>
knob_decl triple(const char* key, double min, double max, const char* unit, const char* help, F field) {
  static_assert(std::is_same_v<field_t<F>, std::array<uint64_t, 3>>,
                "triple() binds std::array<uint64_t, 3>");
  return make(
      key, config::kind::triple, min, max, {}, unit, help,
      [field](system_params& p, const std::string& v) {  // validated: a,b,c
        size_t at = 0;
        for (auto& x : field(p)) {
          const size_t comma = v.find(',', at);
          x = std::stoull(v.substr(at, comma - at));
          at = comma + 1;
        }
      },
      [field](const system_params& p) {
        const auto& a = field(p);
        return std::to_string(a[0]) + "," + std::to_string(a[1]) + "," + std::to_string(a[2]);
      });
}

// Bytes written as hex digits, into a std::array<uint8_t, N>.
template <class F>
knob_decl hex_bytes(const char* key, const char* help, F field) {
  constexpr size_t n = std::tuple_size_v<field_t<F>>;
  return make(
      key, config::kind::hex, n, n, {}, "", help,
      [field](system_params& p, const std::string& v) {  // validated: 2n lowercase digits
        for (size_t i = 0; i < n; ++i)
          field(p)[i] = static_cast<uint8_t>(std::stoul(v.substr(2 * i, 2), nullptr, 16));
      },
      [field](const system_params& p) {
        static const char digits[] = "0123456789abcdef";
        std::string text;
        for (uint8_t b : field(p)) text += {digits[b >> 4], digits[b & 15]};
        return text;
      });
}

// A file name into a std::string field ("" : none).
template <class F>
knob_decl path(const char* key, const char* help, F field) {
  static_assert(std::is_same_v<field_t<F>, std::string>, "path() binds a std::string field");
  return make(
      key, config::kind::path, 0, 0, {}, "", help,
      [field](system_params& p, const std::string& v) { field(p) = v; },
      [field](const system_params& p) { return field(p); });
}

using coalesce_mode = host::e1000_params::coalesce_mode;
using host::kernel_version;
using host::nic_model;

// ---------------------------------------------------------------------------------------------
// THE KNOB TABLE. To add a knob, add one declaration here; nothing else:
//
//   integer("nic.tx_ring_size", 8, 4096, "descriptors", "TX descriptors (ethtool -G tx)",
//           [](auto& p) -> auto& { return p.host.driver.tx_ring_size; }),
//
// - the binder [](auto& p) -> auto& { return p.<path>; } names the system_params field the
//   knob sets; the knob's DEFAULT IS THAT FIELD'S DEFAULT (change it in the struct);
// - number (double field), integer (any integer field), duration (sc_time field, the value
//   in us or ns), choice (words → bool/enum/number values), hex_bytes (std::array<uint8_t>);
// - .aka("short") gives it an alias for run --set and sweep --grid (listed in table order);
// - .defaults_to("text") only when the default must differ from the field's: say why.
// Checks across knobs go in config::validate (tb/config.cpp); values derived from several
// knobs, or copies of one into a second field, in make_system_params (tb/system_top.cpp).
// Then regenerate the README table: nicsim knobs --markdown between the knobs markers.
// ---------------------------------------------------------------------------------------------
std::vector<knob_decl> declare_knobs() {
  return {
      // nic (first: the aliases below are listed in table order: rx-usecs, rx-frames, rx, ...)
      // A profile knob: it sets other knobs' defaults (model_defaults below).
      choice(
          "nic.model",
          {{"generic", nic_model::generic},
           {"e1000", nic_model::e1000},
           {"igb", nic_model::igb},
           {"ixgbe", nic_model::ixgbe}},
          "the part and its driver's defaults (nicsim knobs shows them): generic = the model's own 10 Gb/s "
          "device; e1000 = 82540EM, igb = 82576, ixgbe = 82599",
          [](auto& p) -> auto& { return p.host.driver.model; }),
      integer(
          "nic.coalesce.rx_usecs", 0, 65535, "us", "ethtool -C rx-usecs",
          [](auto& p) -> auto& { return p.host.driver.rx_usecs; })
          .aka("rx-usecs"),
      integer(
          "nic.coalesce.rx_frames", 0, 65535, "frames", "ethtool -C rx-frames",
          [](auto& p) -> auto& { return p.host.driver.rx_frames; })
          .aka("rx-frames"),
      integer(
          "nic.rx_ring_size", 8, 4096, "descriptors", "RX descriptors (ethtool -G rx), a multiple of 8",
          [](auto& p) -> auto& { return p.host.driver.rx_ring_size; })
          .aka("rx"),
      // The wire's rate, which the built-in partner serializes at (make_system_params copies
      // it wherever else it is needed).
      number(
          "nic.line_rate_gbps", 0.001, 400, "Gb/s", "MAC line rate",
          [](auto& p) -> auto& { return p.traffic.line_rate_gbps; }),
      integer(
          "nic.rx_fifo_bytes", 2048, 16 * 1024 * 1024, "B", "RX packet buffer",
          [](auto& p) -> auto& { return p.nic.rx_fifo_bytes; }),
      integer(
          "nic.desc_fetch_batch", 1, 64, "descriptors", "descriptors fetched per read",
          [](auto& p) -> auto& { return p.nic.desc_fetch_batch; }),
      integer(
          "nic.desc_prefetch_threshold", 0, 64, "descriptors",
          "RXDCTL.PTHRESH: prefetch while the on-chip cache holds fewer (0: fetch only when empty)",
          [](auto& p) -> auto& { return p.nic.desc_prefetch_threshold; }),
      integer(
          "nic.desc_wb_batch", 1, 64, "descriptors",
          "RXDCTL.WTHRESH: descriptors written back per burst while frames keep coming",
          [](auto& p) -> auto& { return p.nic.desc_wb_batch; }),
      // The hardware's queues; make_system_params has the driver enable as many.
      integer(
          "nic.rx_queues", 1, 16, "queues",
          "RX queues, each with a ring, an MSI-X vector and a NAPI instance (ethtool -L rx); "
          "more than 1 turns on RSS (at most 8 but on ixgbe: igb spreads RSS over 8 queues on the 82576)",
          [](auto& p) -> auto& { return p.nic.rx_queues; }),
      // The driver's key is all zeros until someone sets one (host/ knows no default key);
      // a scenario starts from the key the RTL front end resets to (hw::rss_default_key).
      hex_bytes(
          "nic.rss_key",
          "Toeplitz RSS key, 40 bytes (ethtool -X hkey); the default is Microsoft's verification key",
          [](auto& p) -> auto& { return p.host.driver.rss_key; })
          .defaults_to("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa"),
      choice(
          "nic.rx_flow_hash_udp4", {{"sd", false}, {"sdfn", true}},
          "fields RSS hashes for UDP/IPv4 (ethtool -N rx-flow-hash udp4): sd = addresses only, "
          "as igb does by default; sdfn = addresses and ports",
          [](auto& p) -> auto& { return p.host.driver.rss_udp4_l4; }),
      choice(
          "nic.rx_csum_offload", {{"false", false}, {"true", true}},
          "ethtool -K rx: the RTL front end verifies TCP/UDP checksums and the host skips them",
          [](auto& p) -> auto& { return p.host.driver.rx_csum; }),
      choice(
          "nic.gro", {{"true", true}, {"false", false}},
          "ethtool -K gro: napi_gro_receive merges a TCP flow's in-order segments (UDP is never "
          "merged); false: every frame goes up alone (still batched by host.gro_normal_batch)",
          [](auto& p) -> auto& { return p.host.driver.gro; }),
      choice(
          "nic.rtl_frontend", {{"true", true}, {"false", false}},
          "run every frame through the verilated RX front end; false: the FCS only, checked in C++ (no "
          "checksum offload, no RSS; hardly faster since the front end got cheap)",
          [](auto& p) -> auto& { return p.nic.rtl_frontend; }),
      choice(
          "nic.coalesce.mode",
          {{"timer", coalesce_mode::ethtool},
           {"e1000", coalesce_mode::e1000},
           {"arm", coalesce_mode::arm},
           {"itr", coalesce_mode::itr}},
          "interrupt moderation: timer (rx_usecs from the first frame, or rx_frames; called ethtool before), "
          "e1000 (itr/rdtr/radv), arm (auto-mask, re-armed by the driver, min_interval_ns apart), "
          "itr (EITR: rx_usecs is a minimum gap between interrupts; a lone frame interrupts at once)",
          [](auto& p) -> auto& { return p.host.driver.coalesce; }),
      integer(
          "nic.coalesce.itr", 0, 65535, "× 256 ns", "e1000 ITR: minimum gap between interrupts (0: no limit)",
          [](auto& p) -> auto& { return p.host.driver.itr; }),
      integer(
          "nic.coalesce.rdtr", 0, 65535, "× 1.024 us",
          "e1000 RDTR: interrupt when no frame came for this long (0: per frame)",
          [](auto& p) -> auto& { return p.host.driver.rdtr; }),
      integer(
          "nic.coalesce.radv", 0, 65535, "× 1.024 us",
          "e1000 RADV: interrupt at most this long after the first pending frame (0: off)",
          [](auto& p) -> auto& { return p.host.driver.radv; }),
      integer(
          "nic.coalesce.min_interval_ns", 0, 4294967295.0, "ns", "arm: minimum gap between interrupts",
          [](auto& p) -> auto& { return p.host.driver.min_interval_ns; }),

      // transmit (issue 12: the host's transmit path; the driver sets its TX rings up only when
      // the run transmits, see make_system_params)
      integer(
          "nic.tx_ring_size", 48, 4096, "descriptors",
          "TX descriptors per queue (ethtool -G tx), a multiple of 8",
          [](auto& p) -> auto& { return p.host.driver.tx_ring_size; })
          .aka("tx"),
      integer(
          "nic.coalesce.tx_usecs", 0, 65535, "× 1.024 us",
          "TIDV: transmit interrupt delay (e1000 TxIntDelay; 0: no delay, IDE off)",
          [](auto& p) -> auto& { return p.host.driver.tidv; })
          .aka("tx-usecs"),
      integer(
          "host.txqueuelen", 1, 1000000, "packets",
          "ip link set txqueuelen: each pfifo_fast band holds this many",
          [](auto& p) -> auto& { return p.host.driver.tx_queue_len; }),
      choice(
          "host.bql", {{"true", true}, {"false", false}},
          "byte queue limits on the transmit queues (netdev_tx_sent_queue / dql)",
          [](auto& p) -> auto& { return p.host.driver.bql; }),
      choice(
          "app.role",
          {{"reader", host::udp_app_params::role_t::reader}, {"echo", host::udp_app_params::role_t::echo}},
          "reader: read and count; echo: send every message back to its sender (sendto)",
          [](auto& p) -> auto& { return p.host.app.role; }),

      // traffic: the built-in link partner
      number(
          "traffic.rate_gbps", 1e-6, 400, "Gb/s",
          "offered load in bits on the wire, preamble and inter-frame gap included",
          [](auto& p) -> auto& { return p.traffic.rate_gbps; })
          .aka("rate"),
      integer(
          "traffic.frame_bytes", 64, 1518, "B", "Ethernet frame size, FCS included",
          [](auto& p) -> auto& { return p.traffic.frame_bytes; })
          .aka("frame"),
      choice(
          "traffic.pattern",
          {{"constant", traffic_params::constant},
           {"poisson", traffic_params::poisson},
           {"burst", traffic_params::burst},
           {"rr", traffic_params::rr}},
          "departure process; rr: netperf UDP_RR, requests answered by the host's echo (not paced by "
          "rate_gbps)",
          [](auto& p) -> auto& { return p.traffic.pattern; })
          .aka("pattern"),
      integer(
          "traffic.burst_frames", 1, 1000000, "frames", "frames per back-to-back burst (burst)",
          [](auto& p) -> auto& { return p.traffic.burst_frames; })
          .aka("burst"),
      integer(
          "traffic.dst_port", 1, 65535, "", "UDP destination port",
          [](auto& p) -> auto& { return p.traffic.flow.dst_port; }),
      integer(
          "traffic.flows", 1, 1024, "flows",
          "UDP flows, round robin: frame i belongs to flow k = i % flows, from src_port + k to dst_port + k",
          [](auto& p) -> auto& { return p.traffic.flows; }),
      choice(
          "traffic.corrupt",
          {{"none", traffic_params::none},
           {"fcs", traffic_params::fcs},
           {"ip_csum", traffic_params::ip_csum},
           {"udp_csum", traffic_params::udp_csum}},
          "damage every corrupt_every-th frame: its FCS, IPv4 header checksum or UDP checksum",
          [](auto& p) -> auto& { return p.traffic.corrupt; }),
      integer(
          "traffic.corrupt_every", 0, 1e9, "frames", "how often traffic.corrupt applies (0: never)",
          [](auto& p) -> auto& { return p.traffic.corrupt_every; }),
      integer(
          "traffic.src_port", 1, 65535, "", "UDP source port",
          [](auto& p) -> auto& { return p.traffic.flow.src_port; }),
      integer(
          "traffic.count", 0, 1e12, "frames",
          "stop after this many frames (0: until the end); tcp: the application writes this many "
          "units of frame_bytes - 70 bytes (one full segment's payload) in all",
          [](auto& p) -> auto& { return p.traffic.count; }),
      duration(
          "traffic.start_us", config::kind::number, sc_core::SC_US, 0, 1e7,
          "first frame this long after the link is up", [](auto& p) -> auto& { return p.traffic.start; }),
      // A capture as traffic (issue 16; tb/pcap_source.h says what is read and how).
      path(
          "traffic.pcap",
          "replay this capture (pcap or pcapng, Ethernet) instead of generating frames; the "
          "generator's knobs (pattern, proto, frame_bytes, flows, ports, corrupt, burst_frames, rr_*, "
          "response_bytes, tcp_cc) are then ignored, with a warning; empty: none",
          [](auto& p) -> auto& { return p.traffic.pcap; })
          .aka("pcap"),
      choice(
          "traffic.pcap_timing",
          {{"capture", traffic_params::pcap_capture_time}, {"rate", traffic_params::pcap_rate}},
          "traffic.pcap: capture = at the capture's own times from traffic start; rate = back to back "
          "at traffic.rate_gbps",
          [](auto& p) -> auto& { return p.traffic.pcap_timing; }),
      integer(
          "traffic.pcap_loop", 0, 1e9, "passes",
          "traffic.pcap: replay the capture this many more times, each pass when the wire is free after "
          "the one before",
          [](auto& p) -> auto& { return p.traffic.pcap_loop; }),
      // The wire and the link partner's request/response mode (issue 12).
      duration(
          "link.delay_ns", config::kind::number, sc_core::SC_NS, 0, 1e9,
          "one-way propagation delay of the Ethernet link, both directions",
          [](auto& p) -> auto& { return p.wire_delay; }),
      integer(
          "traffic.rr_outstanding", 1, 1024, "requests",
          "rr: requests in flight (netperf UDP_RR burst + 1); the next goes out as a response arrives, "
          "whatever traffic.rate_gbps says",
          [](auto& p) -> auto& { return p.traffic.rr_outstanding; }),
      integer(
          "traffic.response_bytes", 0, 1518, "B",
          "rr: response frame size, FCS included (64..1518); 0: the request's size",
          [](auto& p) -> auto& { return p.traffic.response_bytes; }),
      // The TCP sender (issue 13): tb/partner/tcp_sender.h.
      choice(
          "traffic.proto", {{"udp", traffic_params::udp}, {"tcp", traffic_params::tcp}},
          "udp: datagrams; tcp: traffic.flows TCP connections to app.port (SYN with MSS frame_bytes - 58, "
          "SACK, timestamps, wscale 7), then a stream of full segments",
          [](auto& p) -> auto& { return p.traffic.proto; }),
      choice(
          "traffic.tcp_cc", {{"cubic", partner::tcp_cc::cubic}, {"reno", partner::tcp_cc::reno}},
          "tcp: the partner's congestion control (net.ipv4.tcp_congestion_control; CUBIC without HyStart)",
          [](auto& p) -> auto& { return p.traffic.tcp_cc; }),
      choice(
          "traffic.tcp_recovery",
          {{"rack", partner::tcp_recovery::rack}, {"dupack", partner::tcp_recovery::dupack}},
          "tcp: the partner's loss detection, as net.ipv4.tcp_recovery: rack (v6.6's default: RACK with "
          "tail loss probes, tcp_recovery=1 and tcp_early_retrans=3); dupack (duplicate ACKs and RFC 6675 "
          "SACK only, no TLP: tcp_recovery=0, tcp_early_retrans=0)",
          [](auto& p) -> auto& { return p.traffic.tcp_recovery; }),

      // host
      choice(
          "host.napi", {{"true", true}, {"false", false}},
          "NAPI polling; false: the pre-NAPI driver (netif_rx per frame in hard IRQ)",
          [](auto& p) -> auto& { return p.host.driver.napi; })
          .aka("napi"),
      integer(
          "host.napi_weight", 1, 4096, "packets", "NAPI weight per poll",
          [](auto& p) -> auto& { return p.host.driver.napi_weight; })
          .aka("weight"),
      integer(
          "host.netdev_budget", 1, 1000000, "packets", "net.core.netdev_budget",
          [](auto& p) -> auto& { return p.host.net.netdev_budget; })
          .aka("budget"),
      integer(
          "host.cpus", 1, 64, "CPUs", "CPUs of the host", [](auto& p) -> auto& { return p.host.cpus; })
          .aka("cpus"),
      number(
          "host.cpu_ghz", 0.1, 10, "GHz", "CPU clock the cost table's cycles run at",
          [](auto& p) -> auto& { return p.host.cpu_ghz; }),
      integer(
          "host.netdev_max_backlog", 1, 1000000, "packets", "net.core.netdev_max_backlog (non-NAPI path)",
          [](auto& p) -> auto& { return p.host.net.netdev_max_backlog; }),
      integer(
          "host.netdev_budget_usecs", 0, 1000000, "us",
          "net.core.netdev_budget_usecs; 0: the kernel's default of 2 jiffies (2000 at HZ=1000)",
          [](auto& p) -> auto& { return p.host.net.netdev_budget_usecs; }),
      choice(
          "host.hz", {{"100", 100u}, {"250", 250u}, {"300", 300u}, {"1000", 1000u}},
          "CONFIG_HZ: scheduler tick and jiffies", [](auto& p) -> auto& { return p.host.hz; }),
      integer(
          "host.irq_cpu", 0, 63, "", "CPU the NIC's interrupt is routed to (smp_affinity)",
          [](auto& p) -> auto& { return p.host.irq_cpu; }),
      integer(
          "host.napi_defer_hard_irqs", 0, 1000000, "polls",
          "napi_defer_hard_irqs: empty polls before the device interrupts again (needs gro_flush_timeout)",
          [](auto& p) -> auto& { return p.host.net.napi_defer_hard_irqs; }),
      duration(
          "host.gro_flush_timeout_ns", config::kind::integer, sc_core::SC_NS, 0, 1e9,
          "gro_flush_timeout: the timer that polls again while interrupts are deferred",
          [](auto& p) -> auto& { return p.host.net.gro_flush_timeout; }),
      integer(
          "host.gro_normal_batch", 1, 1000000, "segments",
          "net.core.gro_normal_batch: GRO's output goes up as a list once it holds this many segments, "
          "and at the end of each poll",
          [](auto& p) -> auto& { return p.host.net.gro_normal_batch; }),
      integer(
          "host.rmem_default", 4608, 2147483647.0, "B",
          "net.core.rmem_default: sk_rcvbuf of a socket that does not set SO_RCVBUF",
          [](auto& p) -> auto& { return p.host.net.rmem_default; }),
      integer(
          "host.rmem_max", 4608, 2147483647.0, "B",
          "net.core.rmem_max: the cap on SO_RCVBUF's value before the kernel doubles it",
          [](auto& p) -> auto& { return p.host.net.rmem_max; }),
      choice(
          "host.kernel",
          {{"6.6", kernel_version::v6_6}, {"6.1", kernel_version::v6_1}, {"6.12", kernel_version::v6_12}},
          "kernel release whose version-dependent rules apply (docs/kernels.md): 6.1 (Debian 12), 6.6, 6.12",
          [](auto& p) -> auto& { return p.host.kernel_release; }),
      choice(
          "host.udp_backlog", {{"true", true}, {"false", false}},
          "true: the seed's kernels, softirq backlogs UDP while a reader owns the socket",
          [](auto& p) -> auto& { return p.host.net.udp_backlog; }),

      // pcie (the NIC's max payload size; make_system_params copies it to the link)
      number(
          "pcie.gbps", 0.1, 2000, "Gb/s", "PCIe data rate per direction",
          [](auto& p) -> auto& { return p.link.gbps; }),
      duration(
          "pcie.latency_ns", config::kind::number, sc_core::SC_NS, 0, 100000, "PCIe one-way latency",
          [](auto& p) -> auto& { return p.link.latency; }),
      integer(
          "pcie.mps", 128, 4096, "B", "max payload size of a TLP",
          [](auto& p) -> auto& { return p.nic.max_payload_bytes; }),

      // app: the receiving applications
      integer(
          "app.cpu", 0, 63, "", "CPU the readers start on", [](auto& p) -> auto& { return p.host.app_cpu; }),
      integer(
          "app.sockets", 1, 1024, "sockets",
          "applications, one socket each, bound to app.port, app.port + 1, ...",
          [](auto& p) -> auto& { return p.host.sockets; }),
      choice(
          "app.mode", {{"blocking", false}, {"nonblocking", true}},
          "blocking: recvfrom sleeps when empty; nonblocking: a busy loop of recvfrom (EAGAIN)",
          [](auto& p) -> auto& { return p.host.app.nonblocking; }),
      duration(
          "app.busy_poll_us", config::kind::integer, sc_core::SC_US, 0, 100000,
          "SO_BUSY_POLL: poll the NIC from recvfrom before sleeping",
          [](auto& p) -> auto& { return p.host.app.busy_poll; }),
      choice(
          "app.pinned", {{"true", true}, {"false", false}},
          "readers pinned to app.cpu; false: the scheduler places them",
          [](auto& p) -> auto& { return p.host.app.pinned; }),
      integer(
          "app.port", 1, 65535, "", "UDP port the application binds",
          [](auto& p) -> auto& { return p.host.app.port; }),
      integer(
          "app.readers", 1, 64, "tasks", "reader tasks blocked in recvfrom on the socket",
          [](auto& p) -> auto& { return p.host.app.readers; }),
      integer(
          "app.rcvbuf_bytes", 0, 2147483647.0, "B",
          "setsockopt(SO_RCVBUF) value: sk_rcvbuf = 2 * min(value, host.rmem_max), at least 4608; "
          "0: not called, sk_rcvbuf = host.rmem_default",
          [](auto& p) -> auto& { return p.host.app.rcvbuf_bytes; }),
      // TCP (traffic.proto=tcp): host/apps/tcp_app.h.
      integer(
          "app.read_bytes", 1, 67108864, "B", "tcp: bytes each recv(2) asks for (tcp_recvmsg's len)",
          [](auto& p) -> auto& { return p.host.tcp_app.read_bytes; }),
      integer(
          "app.rcvlowat", 1, 2147483647.0, "B",
          "tcp: SO_RCVLOWAT of every accepted socket (recv returns once this many bytes are there)",
          [](auto& p) -> auto& { return p.host.tcp_app.rcvlowat; }),
      triple(
          "host.tcp_rmem", 1, 2147483647.0, "B",
          "net.ipv4.tcp_rmem: min,default,max receive buffer of a TCP socket (default: sk_rcvbuf at "
          "start; max: autotuning's ceiling)",
          [](auto& p) -> auto& { return p.host.net.tcp_rmem; }),
      duration(
          "app.work_ns", config::kind::number, sc_core::SC_NS, 0, 1e9, "user-mode work per message",
          [](auto& p) -> auto& { return p.host.app.work; }),

      // sim (last: its aliases come last in the alias list)
      duration(
          "sim.duration_us", config::kind::number, sc_core::SC_US, 1, 1e7, "simulated time to run",
          [](auto& p) -> auto& { return p.duration; })
          .aka("duration"),
      choice(
          "sim.decouple", {{"true", true}, {"false", false}},
          "true: a host CPU runs on past the time it charges while no other event can come first "
          "and waits once for the sum (tlm/local_time.h), and the built-in generator does a frame's "
          "first-bit work when its last bit is due in runs that record no waves, timeline, pcap, fates "
          "or frames: fewer thread switches and activations, the same results up to the order of "
          "exactly simultaneous events; false: one wait per charge, one activation per first bit",
          [](auto& p) -> auto& { return p.decouple; }),
      integer(
          "sim.seed", 0, 4294967295.0, "", "seed of every random choice (same seed, same run)",
          [](auto& p) -> auto& { return p.traffic.seed; })
          .aka("seed"),
  };
}

}  // namespace

// What nic.model sets (each knob still overridable): the parts' and their drivers' defaults.
// generic keeps every field's default. Sources: e1000_param.c (InterruptThrottleRate 3,
// RxAbsIntDelay 8), e1000_main.c e1000_reset (PBA 48K for RX on the 82540), igb_main.c
// (IGB_DEFAULT_ITR 3 = rx-usecs 3), ixgbe_main.c (rx_itr_setting 1, IXGBE_DEFAULT_RXD 512),
// the 82599's 512 KB RX packet buffer; all three turn RX checksum offload on (NETIF_F_RXCSUM).
const std::vector<std::pair<std::string, std::string>>& model_defaults(const std::string& model) {
  static const std::map<std::string, std::vector<std::pair<std::string, std::string>>> table{
      {"generic", {}},
      {"e1000",
       {{"nic.line_rate_gbps", "1"},
        {"nic.coalesce.mode", "e1000"},
        {"nic.coalesce.rx_usecs", "3"},
        {"nic.coalesce.radv", "8"},
        {"nic.rx_csum_offload", "true"},
        {"nic.rx_fifo_bytes", "49152"}}},
      {"igb",
       {{"nic.line_rate_gbps", "1"},
        {"nic.coalesce.mode", "itr"},
        {"nic.coalesce.rx_usecs", "3"},
        {"nic.rx_csum_offload", "true"}}},
      {"ixgbe",
       {{"nic.line_rate_gbps", "10"},
        {"nic.coalesce.mode", "itr"},
        {"nic.coalesce.rx_usecs", "1"},
        {"nic.rx_csum_offload", "true"},
        {"nic.rx_fifo_bytes", "524288"},
        {"nic.rx_ring_size", "512"},
        {"nic.tx_ring_size", "512"}}},
  };
  static const std::vector<std::pair<std::string, std::string>> none;
  auto it = table.find(model);
  return it == table.end() ? none : it->second;
}

std::string model_defaults_markdown() {
  const std::vector<std::string> models{"generic", "e1000", "igb", "ixgbe"};
  std::map<std::string, std::map<std::string, std::string>> rows;  // key -> model -> value
  for (const auto& m : models)
    for (const auto& [key, value] : model_defaults(m)) rows[key][m] = value;
  const config generic;
  std::string out = "| key |";
  std::string rule = "| --- |";
  for (const auto& m : models) {
    out += " `" + m + "` |";
    rule += " --- |";
  }
  out += "\n" + rule + "\n";
  for (const auto& [key, per_model] : rows) {
    out += "| `" + key + "` |";
    for (const auto& m : models) {
      auto it = per_model.find(m);
      out += " `" + (it != per_model.end() ? it->second : generic.text(key)) + "` |";
    }
    out += "\n";
  }
  return out;
}

const std::vector<std::string>& profile_knobs() {
  static const std::vector<std::string> keys{"nic.model", "host.kernel"};
  return keys;
}

const std::vector<std::pair<std::string, std::string>>& profile_defaults(const std::string& profile,
                                                                         const std::string& choice) {
  static const std::vector<std::pair<std::string, std::string>> none;
  // host.kernel selects rules, not other knobs' defaults (the sysctls the model has are the
  // same in 6.1, 6.6 and 6.12).
  return profile == "nic.model" ? model_defaults(choice) : none;
}

const std::vector<knob_decl>& knob_table() {
  static const std::vector<knob_decl> table = declare_knobs();
  return table;
}

std::string knob_default(const knob_decl& k) {
  if (!k.default_override.empty()) return k.default_override;
  static const system_params defaults;
  return k.get(defaults);
}

void apply_knobs(const config& cfg, system_params& p) {
  for (const auto& k : knob_table()) k.set(p, cfg.text(k.key));
}

}  // namespace nicsim::tb
