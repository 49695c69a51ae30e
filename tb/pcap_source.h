#pragma once
// A capture as traffic (traffic.pcap): the frames of a pcap or pcapng file, read and checked
// whole before the simulation starts, then replayed by the built-in link partner
// (traffic_source::run_pcap, in tb/pcap_source.cpp) into the NIC.
//
// What is read:
// - pcap (libpcap's format): microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d) magic, in
//   either byte order; LINKTYPE_ETHERNET (1) only. The frames hold an FCS only when the
//   header's link-type field says so (libpcap's LT_FCS_LENGTH_PRESENT bit 0x04000000 with an
//   FCS length of 2 16-bit words in its top 4 bits): tcpdump and Wireshark captures of Linux
//   interfaces carry none.
// - pcapng: Section Header, Interface Description, Enhanced Packet and Simple Packet blocks,
//   each section in its own byte order; other blocks (name resolution, statistics, ...) are
//   skipped. Every interface must be Ethernet; its if_tsresol (default 10^-6 s) and
//   if_tsoffset give the packets' times. An FCS is present when the packet's epb_flags give
//   an FCS length, else when its interface's if_fcslen does; a length other than 0 or 4 is
//   refused. epb_flags' direction decides what is replayed: inbound (toward the host) and
//   unknown packets are, outbound ones are not (nicsim's own --pcap is two-way: only the
//   partner's frames go back in). A Simple Packet Block has no time: it goes right after the
//   frame before it.
// Each frame goes on the wire as captured, with an FCS computed for it when the capture has
// none; a frame without an FCS that is shorter than 60 bytes is padded with zeros to 60 first,
// as a sending MAC pads (IEEE 802.3 4.2.3.3). Frames with an FCS are not changed (a runt or a
// bad FCS meets the NIC's checks). A frame the capture truncated (captured length below its
// length on the wire: a snaplen) cannot be replayed and is refused, as is any truncated or
// malformed block: config_error naming the file and the byte offset.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nicsim::tb {

class pcap_capture {
 public:
  struct frame_ref {
    uint64_t offset;   // of the frame's first byte in the file
    uint64_t time_ps;  // since the first replayed frame (0 for it); SPB: the previous frame's
    uint32_t length;   // captured bytes
    bool has_fcs;      // the last 4 of them are the FCS
  };

  // Reads and checks the whole file; throws config_error "FILE: byte offset N: what".
  static std::shared_ptr<const pcap_capture> load(const std::string& path);
  pcap_capture() = default;
  ~pcap_capture();
  pcap_capture(const pcap_capture&) = delete;
  pcap_capture& operator=(const pcap_capture&) = delete;

  const std::string& path() const { return m_path; }
  const std::vector<frame_ref>& frames() const { return m_frames; }
  uint64_t outbound_skipped() const { return m_outbound; }  // pcapng packets from the host
  bool pcapng() const { return m_pcapng; }

  // Frame i as it goes on the wire (FCS included; see above). Throws std::runtime_error when
  // the file can no longer be read as it was checked.
  void wire_bytes(size_t i, std::vector<uint8_t>& out) const;

 private:
  std::string m_path;
  std::vector<frame_ref> m_frames;
  uint64_t m_outbound = 0;
  bool m_pcapng = false;
  int m_fd = -1;  // the file as checked, read again frame by frame (pread)
};

// The longest frame a capture may hold (libpcap's MAXIMUM_SNAPLEN).
inline constexpr uint32_t pcap_max_frame_bytes = 262144;

}  // namespace nicsim::tb
