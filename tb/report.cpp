// Statistics of a run: the JSON document (names from ethtool -S, /proc and
// netstat) and the summary table.
#include "tb/report.h"

#include <algorithm>
#include <cmath>

#include "hw/intr_moderation_rtl.h"
#include "hw/rx_frontend_rtl.h"
#include "tb/percentile.h"
#include "tb/system_top.h"

namespace nicsim::tb {

namespace {
uint64_t ns(const sc_core::sc_time& t) { return t.value() / 1000; }

// netperf UDP_RR's results as the partner measured them; transactions per second over the
// time from the first request to the end of the run.
nlohmann::ordered_json rr_results(const traffic_source& partner) {
  const rr_stats& rr = partner.rr();
  const auto& h = rr.latency_ns;
  const double span_s = rr.requests == 0 ? 0.0 : (sc_core::sc_time_stamp() - rr.first_request).to_seconds();
  return {{"outstanding", partner.params().rr_outstanding},
          {"requests", rr.requests},
          {"transactions", rr.transactions},
          {"transactions_per_sec", span_s > 0 ? static_cast<double>(rr.transactions) / span_s : 0.0},
          {"lost", partner.rr_open()},
          {"bad_payload", rr.bad_payload},
          {"unmatched", rr.unmatched},
          {"max_outstanding", rr.max_outstanding},
          {"latency_ns",
           {{"p50", percentile(h, 0.50)},
            {"p99", percentile(h, 0.99)},
            {"p999", percentile(h, 0.999)},
            {"max", h.max()},
            {"mean",
             h.empty() ? 0.0 : static_cast<double>(rr.latency_sum_ns) / static_cast<double>(h.samples())}}}};
}

// The partner's TCP sender, summed over its connections. Means are time-weighted: each
// connection's value integrated over the time it was established, divided by that time
// (summed over connections), so a connection that spent 1 ms at cwnd 10 and 3 ms at cwnd 20
// averages 17.5. srtt_us is the mean of the connections' last smoothed RTT (those with one).
nlohmann::ordered_json tcp_results(const traffic_source& partner) {
  const uint64_t now_ns = sc_core::sc_time_stamp().value() / 1000;
  uint64_t opened = 0, established = 0, refused = 0, timed_out = 0, reset = 0;
  partner::tcp_sender_stats t;
  uint64_t bytes_acked = 0, srtt_sum = 0, srtt_n = 0;
  double cwnd_max = 0, cwnd_bytes_max = 0, cwnd_int = 0, cwnd_bytes_int = 0, rwnd_max = 0, rwnd_int = 0;
  uint64_t cwnd_span = 0, rwnd_span = 0;
  for (const auto& c : partner.tcp()) {
    const auto& s = c->stats();
    opened += s.syn_sent != 0;
    established += s.established;
    refused += s.refused;
    timed_out += s.timed_out;
    reset += s.reset;
    t.syn_retransmits += s.syn_retransmits;
    t.resets_received += s.resets_received;
    t.segs_sent += s.segs_sent;
    t.data_segs_sent += s.data_segs_sent;
    t.bytes_sent += s.bytes_sent;
    t.retrans_segs += s.retrans_segs;
    t.retrans_bytes += s.retrans_bytes;
    t.fast_retransmits += s.fast_retransmits;
    t.recoveries += s.recoveries;
    t.rto_count += s.rto_count;
    t.loss_probes += s.loss_probes;
    t.loss_probe_recovery += s.loss_probe_recovery;
    t.lost_retransmit += s.lost_retransmit;
    t.rack_lost += s.rack_lost;
    t.rack_reo_timeouts += s.rack_reo_timeouts;
    t.sack_reorder += s.sack_reorder;
    t.zero_window_probes += s.zero_window_probes;
    t.acks_received += s.acks_received;
    t.dup_acks += s.dup_acks;
    t.old_acks += s.old_acks;
    t.acks_unsent_data += s.acks_unsent_data;
    t.sack_blocks_received += s.sack_blocks_received;
    t.sack_blocks_invalid += s.sack_blocks_invalid;
    t.window_updates += s.window_updates;
    t.rx_data_ignored += s.rx_data_ignored;
    bytes_acked += c->snd_una();
    if (c->srtt_us() != 0) srtt_sum += c->srtt_us(), ++srtt_n;
    const auto& cw = c->cwnd_track();
    const auto& rw = c->rwnd_track();
    const double mss = c->mss();
    cwnd_max = std::max(cwnd_max, cw.max());
    cwnd_bytes_max = std::max(cwnd_bytes_max, cw.max() * mss);
    cwnd_int += cw.integral(now_ns);
    cwnd_bytes_int += cw.integral(now_ns) * mss;
    cwnd_span += cw.span(now_ns);
    rwnd_max = std::max(rwnd_max, rw.max());
    rwnd_int += rw.integral(now_ns);
    rwnd_span += rw.span(now_ns);
  }
  auto mean = [](double integral, uint64_t span) {
    return span != 0 ? integral / static_cast<double>(span) : 0.0;
  };
  return {{"cc", partner.params().tcp_cc == partner::tcp_cc::reno ? "reno" : "cubic"},
          {"recovery", partner.params().tcp_recovery == partner::tcp_recovery::rack ? "rack" : "dupack"},
          {"connections", partner.tcp().size()},
          {"opened", opened},
          {"established", established},
          {"refused", refused},
          {"timed_out", timed_out},
          {"reset", reset},
          {"syn_retransmits", t.syn_retransmits},
          {"resets_received", t.resets_received},
          {"segs_sent", t.segs_sent},
          {"data_segs_sent", t.data_segs_sent},
          {"bytes_sent", t.bytes_sent},
          {"bytes_acked", bytes_acked},
          {"retrans_segs", t.retrans_segs},
          {"retrans_bytes", t.retrans_bytes},
          {"fast_retransmits", t.fast_retransmits},
          {"recoveries", t.recoveries},
          {"rto_count", t.rto_count},
          {"TCPLossProbes", t.loss_probes},
          {"TCPLossProbeRecovery", t.loss_probe_recovery},
          {"TCPLostRetransmit", t.lost_retransmit},
          {"TCPSACKReorder", t.sack_reorder},
          {"rack_lost", t.rack_lost},
          {"rack_reo_timeouts", t.rack_reo_timeouts},
          {"zero_window_probes", t.zero_window_probes},
          {"acks_received", t.acks_received},
          {"dup_acks", t.dup_acks},
          {"old_acks", t.old_acks},
          {"acks_unsent_data", t.acks_unsent_data},
          {"sack_blocks_received", t.sack_blocks_received},
          {"sack_blocks_invalid", t.sack_blocks_invalid},
          {"window_updates", t.window_updates},
          {"rx_data_ignored", t.rx_data_ignored},
          {"cwnd_segs", {{"max", cwnd_max}, {"mean", mean(cwnd_int, cwnd_span)}}},
          {"cwnd_bytes", {{"max", cwnd_bytes_max}, {"mean", mean(cwnd_bytes_int, cwnd_span)}}},
          {"rwnd_bytes", {{"max", rwnd_max}, {"mean", mean(rwnd_int, rwnd_span)}}},
          {"srtt_us", srtt_n != 0 ? static_cast<double>(srtt_sum) / static_cast<double>(srtt_n) : 0.0}};
}
}  // namespace

nlohmann::ordered_json system_top::results(double wall_s) const {
  nlohmann::ordered_json j;
  const auto sim_ns = ns(sc_core::sc_time_stamp());
  const auto& ns_ = m_nic->stats();
  const auto& stack = m_host->stack();
  const auto app = m_host->app_totals();
  const auto& drv = m_host->driver().stats();

  j["sim"] = {
      {"sim_time_ns", sim_ns},
      {"wall_s", wall_s},
      {"frames_per_wall_s", wall_s > 0 ? static_cast<double>(m_traffic->frames_sent()) / wall_s : 0.0},
      {"slowdown", sim_ns > 0 ? wall_s / (static_cast<double>(sim_ns) * 1e-9) : 0.0}};
  j["wire"] = {{"frames", m_traffic->frames_sent()},
               {"bytes", m_traffic->bytes_sent()},
               {"corrupted", m_traffic->frames_corrupted()}};
  j["nic"] = {{"rx_frames", ns_.rx_packets},
              {"rx_bytes", ns_.rx_bytes},
              {"rx_missed", ns_.rx_missed_errors},
              {"rx_crc_errors", ns_.rx_crc_errors},
              {"rx_short_length_errors", ns_.rx_short_length_errors},
              {"rx_long_length_errors", ns_.rx_long_length_errors},
              {"rx_csum_offload_good", ns_.rx_csum_offload_good},
              {"rx_csum_offload_errors", ns_.rx_csum_offload_errors},
              {"frontend_cycles", m_nic->frontend().cycles()},
              {"rx_no_buffer_count", ns_.rx_no_buffer_count},
              {"rx_desc_fetches", ns_.rx_desc_fetches},
              {"rx_desc_fetch_stalls", ns_.rx_desc_fetch_stalls},
              {"rx_desc_writebacks", ns_.rx_desc_writebacks},
              {"rx_no_dma_resources", ns_.rx_no_dma_resources},
              {"interrupts", ns_.interrupts},
              {"rx_queues", m_nic->queues()}};
  uint64_t evaluations = 0;
  for (unsigned q = 0; q < m_nic->queues(); ++q) {
    // ethtool -S (igb): rx_queue_<n>_packets and _bytes as the driver cleans them, _drops from
    // the NIC's per-queue drop count; and how many messages the queue's vector sent.
    const auto& qs = m_nic->queue_stats(q);
    const auto& ring = m_host->driver().ring(q);
    const std::string p = "rx_queue_" + std::to_string(q) + "_";
    j["nic"][p + "packets"] = ring.rx_cleaned;
    j["nic"][p + "bytes"] = ring.rx_bytes;
    j["nic"][p + "drops"] = qs.drops;
    j["nic"][p + "interrupts"] = qs.interrupts;
    evaluations += m_nic->moderation(q).evaluations();
  }
  j["nic"]["moderation_evaluations"] = evaluations;
  // Transmit (ethtool -S): tx_packets/tx_bytes as the device counts them (last bit out; bytes
  // read from host memory, no FCS), per queue as igb's driver counts them when it cleans.
  j["nic"]["tx_frames"] = ns_.tx_packets;
  j["nic"]["tx_bytes"] = ns_.tx_bytes;
  j["nic"]["tx_desc_fetches"] = ns_.tx_desc_fetches;
  j["nic"]["tx_desc_writebacks"] = ns_.tx_desc_writebacks;
  j["nic"]["tx_fifo_stalls"] = ns_.tx_fifo_stalls;
  j["nic"]["tx_queues"] = m_nic->tx_queues();
  for (unsigned q = 0; q < m_nic->tx_queues(); ++q) {
    const auto& ring = m_host->driver().tx_ring(q);
    const std::string p = "tx_queue_" + std::to_string(q) + "_";
    j["nic"][p + "packets"] = ring.tx_packets;
    j["nic"][p + "bytes"] = ring.tx_bytes;
    j["nic"][p + "restart"] = ring.restart_queue;
  }
  const auto& up = m_link->stats(tlm::pcie_link::UPSTREAM);
  const auto& down = m_link->stats(tlm::pcie_link::DOWNSTREAM);
  auto util = [sim_ns](const tlm::link_direction_stats& s) {
    return sim_ns > 0 ? static_cast<double>(ns(s.busy)) / static_cast<double>(sim_ns) : 0.0;
  };
  j["pcie"] = {
      {"up", {{"tlps", up.tlps}, {"payload_bytes", up.payload_bytes}, {"utilization", util(up)}}},
      {"down", {{"tlps", down.tlps}, {"payload_bytes", down.payload_bytes}, {"utilization", util(down)}}}};

  // Per CPU as /proc/stat, /proc/interrupts, /proc/softirqs and softnet_stat have it; host-wide sums.
  host::cpu_stats cpu;
  nlohmann::ordered_json per_cpu = nlohmann::ordered_json::array();
  const unsigned eth0 = m_params.host.driver.msi_vector;
  const unsigned nq = m_nic->queues();
  auto vec = [](const host::cpu_stats& s, unsigned v) {
    return v < s.irq_counts.size() ? s.irq_counts[v] : 0;
  };
  // "eth0" sums the NIC's vectors; with several queues each also has its own line, as in
  // /proc/interrupts (eth0-rx-<n>).
  auto nic_irqs = [&vec, eth0, nq](const host::cpu_stats& s) {
    uint64_t n = 0;
    for (unsigned q = 0; q < nq; ++q) n += vec(s, eth0 + q);
    return n;
  };
  uint64_t eth0_irqs = 0, loc_irqs = 0, res_irqs = 0, hrt_irqs = 0;
  for (const auto& c : m_host->cpus()) {
    const auto& s = c->stats();
    nlohmann::ordered_json t;
    for (size_t k = 0; k < host::cpu_ctx_count; ++k) {
      cpu.time[k] += s.time[k];
      t[host::cpu_ctx_name(static_cast<host::cpu_ctx>(k))] = ns(s.time[k]);
    }
    cpu.hardirqs += s.hardirqs;
    cpu.context_switches += s.context_switches;
    cpu.wakeups += s.wakeups;
    cpu.ksoftirqd_wakeups += s.ksoftirqd_wakeups;
    cpu.softirqs[host::NET_RX_SOFTIRQ] += s.softirqs[host::NET_RX_SOFTIRQ];
    eth0_irqs += nic_irqs(s);
    loc_irqs += vec(s, host::cpu::LOCAL_TIMER_VECTOR);
    res_irqs += vec(s, host::cpu::RESCHEDULE_VECTOR);
    hrt_irqs += vec(s, host::cpu::HRTIMER_VECTOR);
    const auto& sd = stack.core().softnet(c->id());
    nlohmann::ordered_json irqs = {{"eth0", nic_irqs(s)},
                                   {"LOC", vec(s, host::cpu::LOCAL_TIMER_VECTOR)},
                                   {"RES", vec(s, host::cpu::RESCHEDULE_VECTOR)}};
    if (nq > 1)
      for (unsigned q = 0; q < nq; ++q) irqs["eth0-rx-" + std::to_string(q)] = vec(s, eth0 + q);
    per_cpu.push_back(
        {{"cpu", c->id()},
         {"cpu_ns", t},
         {"interrupts", irqs},
         {"softirqs", {{"NET_RX", s.softirqs[host::NET_RX_SOFTIRQ]}}},
         {"softnet",
          {{"processed", sd.processed}, {"dropped", sd.dropped}, {"time_squeeze", sd.time_squeeze}}},
         {"context_switches", s.context_switches},
         {"ipis_sent", s.ipis_sent},
         {"ksoftirqd_wakeups", s.ksoftirqd_wakeups}});
  }
  nlohmann::ordered_json cpu_ns;
  for (size_t c = 0; c < host::cpu_ctx_count; ++c)
    cpu_ns[host::cpu_ctx_name(static_cast<host::cpu_ctx>(c))] = ns(cpu.time[c]);
  const auto sd = stack.core().softnet_total();
  uint64_t napi_polls = 0;
  for (unsigned q = 0; q < m_host->driver().queues(); ++q) napi_polls += m_host->driver().napi(q).polls;
  j["host"] = {
      {"cpus", m_host->cpus().size()},
      {"hardirqs", cpu.hardirqs},
      {"interrupts", {{"eth0", eth0_irqs}, {"LOC", loc_irqs}, {"RES", res_irqs}, {"HRT", hrt_irqs}}},
      {"napi_polls", napi_polls},
      {"napi_watchdog_polls", stack.core().napi_watchdog_polls()},
      {"softirqs", {{"NET_RX", cpu.softirqs[host::NET_RX_SOFTIRQ]}}},
      {"softnet", {{"processed", sd.processed}, {"dropped", sd.dropped}, {"time_squeeze", sd.time_squeeze}}},
      {"ksoftirqd_wakeups", cpu.ksoftirqd_wakeups},
      {"context_switches", cpu.context_switches},
      {"wakeups", cpu.wakeups},
      {"cpu_ns", cpu_ns},
      {"per_cpu", per_cpu},
      {"driver",
       {{"rx_cleaned", drv.rx_cleaned},
        {"hw_csum_good", drv.hw_csum_good},
        {"hw_csum_err", drv.hw_csum_err},
        {"alloc_rx_buff_failed", drv.alloc_rx_buff_failed},
        {"rx_tail_writes", drv.rx_tail_writes},
        {"mmio_reads", drv.mmio_reads},
        {"mmio_writes", drv.mmio_writes},
        {"tx_cleaned", drv.tx_cleaned},
        {"tx_tail_writes", drv.tx_tail_writes},
        {"tx_busy", drv.tx_busy},
        {"tx_restart_queue", drv.tx_restart_queue},
        {"tx_timeout_count", drv.tx_timeout_count},
        {"itr_writes", drv.itr_writes}}}};
  // tc -s qdisc show dev eth0: pfifo_fast on each TX queue, summed (backlog and qlen: now).
  host::qdisc_stats qd;
  const auto& netdev = m_host->driver().netdev();
  for (const auto& txq : netdev.tx) {
    const auto& s = txq->qdisc.stats;
    qd.bytes += s.bytes;
    qd.packets += s.packets;
    qd.drops += s.drops;
    qd.overlimits += s.overlimits;
    qd.requeues += s.requeues;
    qd.backlog += s.backlog;
    qd.qlen += s.qlen;
  }
  j["host"]["qdisc"] = {{"kind", "pfifo_fast"},        {"sent_bytes", qd.bytes},
                        {"sent_packets", qd.packets},  {"dropped", qd.drops},
                        {"overlimits", qd.overlimits}, {"requeues", qd.requeues},
                        {"backlog_bytes", qd.backlog}, {"backlog_packets", qd.qlen}};
  j["host"]["tx_dropped"] = netdev.tx_dropped;  // ip -s link: TX dropped
  // GRO (no kernel counter: what napi_gro_receive's tracepoints and the skbs show), summed
  // over the NAPI instances.
  const host::gro_stats gro = stack.core().gro_totals();
  j["host"]["gro"] = {{"enabled", netdev.gro},
                      {"received", gro.received},
                      {"merged", gro.merged},
                      {"held", gro.held},
                      {"normal", gro.normal},
                      {"flushed", gro.flushed},
                      {"flushed_segs", gro.flushed_segs},
                      {"flushed_oldest", gro.flushed_oldest},
                      {"held_max", gro.held_max},
                      {"normal_batches", gro.normal_batches},
                      {"normal_skbs", gro.normal_skbs}};
  nlohmann::ordered_json tx_drops = nlohmann::ordered_json::object();
  for (size_t r = 0; r < host::skb_drop_reason_count; ++r)
    if (stack.skb().tx_drops()[r])
      tx_drops[host::skb_drop_reason_name(static_cast<host::skb_drop_reason>(r))] = stack.skb().tx_drops()[r];
  j["host"]["tx_drop_reasons"] = tx_drops;
  const auto& ip = stack.init_net().mib.ip_statistics;
  j["ip"] = {{"InReceives", ip.InReceives},     {"InHdrErrors", ip.InHdrErrors},
             {"InAddrErrors", ip.InAddrErrors}, {"InUnknownProtos", ip.InUnknownProtos},
             {"InDelivers", ip.InDelivers},     {"InCsumErrors", ip.InCsumErrors},
             {"OutRequests", ip.OutRequests},   {"OutDiscards", ip.OutDiscards},
             {"OutNoRoutes", ip.OutNoRoutes}};
  const auto& udp = stack.init_net().mib.udp_statistics;
  j["udp"] = {{"InDatagrams", udp.InDatagrams},
              {"NoPorts", udp.NoPorts},
              {"InErrors", udp.InErrors},
              {"RcvbufErrors", udp.RcvbufErrors},
              {"InCsumErrors", udp.InCsumErrors},
              {"BusyPollRxPackets", stack.init_net().mib.net_statistics.BusyPollRxPackets},
              {"OutDatagrams", udp.OutDatagrams},
              {"SndbufErrors", udp.SndbufErrors}};
  const auto& icmp = stack.init_net().mib.icmp_statistics;
  j["icmp"] = {{"InMsgs", icmp.InMsgs},
               {"OutMsgs", icmp.OutMsgs},
               {"OutDestUnreachs", icmp.OutDestUnreachs},
               {"OutRateLimitGlobal", icmp.OutRateLimitGlobal},
               {"OutRateLimitHost", icmp.OutRateLimitHost},
               {"OutErrors", icmp.OutErrors}};
  nlohmann::ordered_json drops;
  for (size_t r = 0; r < host::skb_drop_reason_count; ++r)
    if (stack.skb().drops()[r])
      drops[host::skb_drop_reason_name(static_cast<host::skb_drop_reason>(r))] = stack.skb().drops()[r];
  j["drop_reasons"] = drops;
  nlohmann::ordered_json sockets = nlohmann::ordered_json::array();
  for (const auto& a : m_host->apps())
    sockets.push_back({{"port", a->sock().port},
                       {"messages", a->stats().messages},
                       {"sk_drops", a->sock().sk_drops},
                       {"backlogged", a->sock().sk_backlogged},
                       {"rx_queue", a->sock().queued()},
                       {"sk_rcvbuf", a->sock().sk_rcvbuf},
                       {"sk_rmem_alloc", a->sock().sk_rmem_alloc},
                       {"sk_rmem_alloc_max", a->sock().sk_rmem_alloc_max}});
  j["app"] = {{"messages", app.messages},
              {"eagain", app.eagain},
              {"sockets", sockets},
              {"bytes", app.bytes},
              {"bad_payloads", app.bad_payloads},
              {"out_of_order", app.out_of_order},
              {"per_reader", app.per_reader},
              {"sent", app.sent},
              {"sent_bytes", app.sent_bytes},
              {"send_errors", app.send_errors}};
  j["latency_ns"] = {{"p50", percentile(app.latency_ns, 0.50)},
                     {"p99", percentile(app.latency_ns, 0.99)},
                     {"p999", percentile(app.latency_ns, 0.999)},
                     {"max", app.latency_ns.max()}};
  if (const host::tcp_app* tapp = m_host->tcp_application(); tapp != nullptr) {
    // TCP runs only (UDP runs keep the keys they always had): netstat -s's Tcp and TcpExt as
    // nstat names them, and per connection what ss -ti shows.
    const auto& mib = stack.init_net().mib;
    const auto& t = mib.tcp_statistics;
    const auto& x = mib.net_statistics;
    j["tcp"] = {{"InSegs", t.InSegs},
                {"OutSegs", t.OutSegs},
                {"RetransSegs", t.RetransSegs},
                {"InErrs", t.InErrs},
                {"InCsumErrors", t.InCsumErrors},
                {"ActiveOpens", t.ActiveOpens},
                {"PassiveOpens", t.PassiveOpens},
                {"CurrEstab", t.CurrEstab},
                {"OutRsts", t.OutRsts}};
    j["tcpext"] = {{"TCPHPHits", x.TCPHPHits},
                   {"TCPPureAcks", x.TCPPureAcks},
                   {"DelayedACKs", x.DelayedACKs},
                   {"DelayedACKLocked", x.DelayedACKLocked},
                   {"TCPBacklogDrop", x.TCPBacklogDrop},
                   {"TCPBacklogCoalesce", x.TCPBacklogCoalesce},
                   {"TCPRcvQDrop", x.TCPRcvQDrop},
                   {"TCPOFOQueue", x.TCPOFOQueue},
                   {"TCPRcvCoalesce", x.TCPRcvCoalesce},
                   {"PruneCalled", x.PruneCalled},
                   {"RcvPruned", x.RcvPruned},
                   {"TCPToZeroWindowAdv", x.TCPToZeroWindowAdv},
                   {"TCPFromZeroWindowAdv", x.TCPFromZeroWindowAdv},
                   {"TCPZeroWindowDrop", x.TCPZeroWindowDrop},
                   {"TCPWantZeroWindowAdv", x.TCPWantZeroWindowAdv},
                   {"ListenOverflows", x.ListenOverflows}};
    nlohmann::ordered_json conns = nlohmann::ordered_json::array();
    for (const host::tcp_sock* sk : tapp->connections()) {
      if (sk == nullptr) continue;
      conns.push_back({{"conn", sk->conn_index},
                       {"peer_port", sk->dport},
                       {"rcv_space", sk->rcvq_space.space},
                       {"rcv_ssthresh", sk->rcv_ssthresh},
                       {"rcv_wnd", sk->rcv_wnd},
                       {"rcvbuf", sk->sk_rcvbuf},
                       {"rtt_us", (sk->srtt_us >> 3)},
                       {"rcv_rtt_us", (sk->rcv_rtt_est.rtt_us >> 3)},
                       {"bytes_received", sk->bytes_received},
                       {"segs_in", sk->segs_in},
                       {"data_segs_in", sk->data_segs_in},
                       {"segs_out", sk->segs_out},
                       {"rx_queue_bytes", static_cast<uint32_t>(sk->rcv_nxt - sk->copied_seq)},
                       {"ofo_skbs", sk->out_of_order_queue.size()},
                       {"sk_drops", sk->sk_drops},
                       {"backlogged", sk->sk_backlogged}});
    }
    j["app"]["accepted"] = tapp->stats().accepted;
    j["app"]["unknown_peer"] = tapp->stats().unknown_peer;
    j["app"]["connections"] = conns;
  }
  const ledger l = account();
  j["conservation"] = {{"ok", l.ok()},
                       {"wire", l.wire},
                       {"delivered", l.delivered},
                       {"dropped", l.dropped},
                       {"in_flight", l.in_flight},
                       {"in_flight_detail", {{"wire", l.on_wire}, {"nic", l.in_nic}, {"host", l.in_host}}}};
  // The transmit direction (issue 12): what the NIC sent, what the partner received.
  j["conservation"]["tx"] = {
      {"ok", l.tx_ok()}, {"wire", l.tx_wire}, {"received", l.tx_received}, {"in_flight", l.tx_on_wire}};
  if (l.tcp)
    j["conservation"]["bytes"] = {{"ok", l.bytes_ok()},       {"sent", l.bytes_sent},
                                  {"read", l.bytes_read},     {"returning", l.bytes_returning},
                                  {"queued", l.bytes_queued}, {"beyond_rcv_nxt", l.bytes_beyond},
                                  {"acked", l.bytes_acked},   {"error", l.bytes_error}};
  if (m_partner) {
    const auto& rx = m_partner->rx_stats();
    j["partner"] = {{"rx_frames", rx.rx_frames},
                    {"rx_bytes", rx.rx_bytes},
                    {"rx_fcs_errors", rx.rx_fcs_errors},
                    {"rx_csum_errors", rx.rx_csum_errors},
                    {"rx_udp", rx.rx_udp},
                    {"rx_icmp", rx.rx_icmp},
                    {"rx_icmp_port_unreach", rx.rx_icmp_port_unreach},
                    {"rx_unexpected", rx.rx_unexpected}};
    // TCP's class only where TCP can be: UDP runs keep the keys they always had.
    const bool tcp = m_partner->params().proto == traffic_params::tcp;
    if (tcp || rx.rx_tcp != 0 || rx.rx_tcp_no_conn != 0) {
      j["partner"]["rx_tcp"] = rx.rx_tcp;
      j["partner"]["rx_tcp_no_conn"] = rx.rx_tcp_no_conn;
    }
    if (tcp) j["partner"]["tcp"] = tcp_results(*m_partner);
    if (m_partner->params().pattern == traffic_params::rr) j["rr"] = rr_results(*m_partner);
  }
  return j;
}

void print_summary(std::ostream& os, const nlohmann::ordered_json& j) {
  auto row = [&os](const std::string& what, const std::string& value) {
    os << "  " << what << std::string(what.size() < 34 ? 34 - what.size() : 1, ' ') << value << "\n";
  };
  auto num = [](const nlohmann::ordered_json& v) { return v.dump(); };
  const double sim_us = j["sim"]["sim_time_ns"].get<double>() / 1000.0;
  os << "nicsim run: " << sim_us << " us simulated in " << j["sim"]["wall_s"].get<double>() << " s wall\n";
  if (j.contains("model_warnings"))
    for (const auto& w : j["model_warnings"]) os << "  note: " << w.get<std::string>() << "\n";
  row("wire frames", num(j["wire"]["frames"]));
  row("nic rx_frames / rx_missed", num(j["nic"]["rx_frames"]) + " / " + num(j["nic"]["rx_missed"]));
  row("nic interrupts", num(j["nic"]["interrupts"]));
  row("nic tx_frames / qdisc dropped",
      num(j["nic"]["tx_frames"]) + " / " + num(j["host"]["qdisc"]["dropped"]));
  const auto queues = j["nic"]["rx_queues"].get<unsigned>();
  if (queues > 1) {
    std::string packets, drops;
    for (unsigned q = 0; q < queues; ++q) {
      const std::string p = "rx_queue_" + std::to_string(q) + "_";
      packets += (q ? " / " : "") + num(j["nic"][p + "packets"]);
      drops += (q ? " / " : "") + num(j["nic"][p + "drops"]);
    }
    row("nic rx_queue_<n>_packets", packets);
    row("nic rx_queue_<n>_drops", drops);
  }
  row("host hardirqs / napi_polls", num(j["host"]["hardirqs"]) + " / " + num(j["host"]["napi_polls"]));
  row("softnet processed / time_squeeze",
      num(j["host"]["softnet"]["processed"]) + " / " + num(j["host"]["softnet"]["time_squeeze"]));
  row("udp InDatagrams / NoPorts", num(j["udp"]["InDatagrams"]) + " / " + num(j["udp"]["NoPorts"]));
  row("udp RcvbufErrors / InErrors", num(j["udp"]["RcvbufErrors"]) + " / " + num(j["udp"]["InErrors"]));
  row("context switches / wakeups", num(j["host"]["context_switches"]) + " / " + num(j["host"]["wakeups"]));
  row("app messages", num(j["app"]["messages"]));
  row("latency p50 / p99 / max (ns)", num(j["latency_ns"]["p50"]) + " / " + num(j["latency_ns"]["p99"]) +
                                          " / " + num(j["latency_ns"]["max"]));
  std::string cpu;
  const double total = std::max(1.0, j["sim"]["sim_time_ns"].get<double>() * j["host"]["cpus"].get<double>());
  for (const auto& [k, v] : j["host"]["cpu_ns"].items()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s %.1f%%", cpu.empty() ? "" : ", ", k.c_str(),
                  100.0 * v.get<double>() / total);
    cpu += buf;
  }
  row(j["host"]["cpus"].get<int>() == 1 ? "cpu0" : "cpus (" + j["host"]["cpus"].dump() + ")", cpu);
  const auto& c = j["conservation"];
  row("conservation", std::string(c["ok"].get<bool>() ? "ok" : "BROKEN") + " (" + num(c["wire"]) + " = " +
                          num(c["delivered"]) + " delivered + " + num(c["dropped"]) + " dropped + " +
                          num(c["in_flight"]) + " in flight)");
  if (c.contains("tx") && c["tx"]["wire"].get<uint64_t>() != 0)
    row("conservation tx", num(c["tx"]["wire"]) + " = " + num(c["tx"]["received"]) + " received + " +
                               num(c["tx"]["in_flight"]) + " in flight");
  if (j.contains("rr"))
    row("rr transactions / lost / p50 (ns)", num(j["rr"]["transactions"]) + " / " + num(j["rr"]["lost"]) +
                                                 " / " + num(j["rr"]["latency_ns"]["p50"]));
}

}  // namespace nicsim::tb
