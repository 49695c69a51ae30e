#include "tb/pcap_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "proto/checksum.h"
#include "proto/frame.h"
#include "tb/config.h"
#include "tb/traffic_source.h"

namespace nicsim::tb {

namespace {

constexpr uint32_t LINKTYPE_ETHERNET = 1;
// libpcap's pcap-common.h: the link-type field of a pcap header also says whether the
// frames carry an FCS and how long it is, in 16-bit words.
constexpr uint32_t LT_FCS_LENGTH_PRESENT = 0x04000000;
constexpr uint32_t lt_fcs_length(uint32_t x) { return (x & 0xF0000000) >> 28; }
constexpr uint32_t lt_linktype(uint32_t x) { return x & 0x0000FFFF; }

// pcapng block types and options (draft-ietf-opsawg-pcapng).
constexpr uint32_t BT_SHB = 0x0A0D0D0A, BT_IDB = 1, BT_OPB = 2, BT_SPB = 3, BT_EPB = 6;
constexpr uint32_t BYTE_ORDER_MAGIC = 0x1A2B3C4D;
constexpr uint16_t OPT_ENDOFOPT = 0, IF_TSRESOL = 9, IF_FCSLEN = 13, IF_TSOFFSET = 14, EPB_FLAGS = 2;

__extension__ typedef unsigned __int128 u128;

uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }

// The file read front to back, each read checked against its end.
class reader {
 public:
  explicit reader(const std::string& path) : m_path(path) {
    m_file = std::fopen(path.c_str(), "rb");
    if (m_file == nullptr) throw config_error(path + ": cannot read the capture: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fileno(m_file), &st) == 0) m_size = static_cast<uint64_t>(st.st_size);
  }
  ~reader() { std::fclose(m_file); }
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  uint64_t offset() const { return m_offset; }
  // A record of n bytes from here must fit in the file: else it is truncated, named by where it starts.
  void need(uint64_t n, uint64_t record_at, const char* what) const {
    if (m_offset + n > m_size)
      fail(record_at, std::string("the file ends inside this ") + what + " (truncated): it needs " +
                          std::to_string(m_offset + n - record_at) + " bytes, " +
                          std::to_string(m_size - record_at) + " are left");
  }
  [[noreturn]] void fail(uint64_t at, const std::string& what) const {
    throw config_error(m_path + ": byte offset " + std::to_string(at) + ": " + what);
  }
  // Exactly n bytes, or false at the end of the file before any (true end), or a failure.
  bool read(void* buf, size_t n, const char* what, bool eof_ok = false) {
    const size_t got = std::fread(buf, 1, n, m_file);
    if (got != n) {
      if (std::ferror(m_file)) fail(m_offset + got, std::string("cannot read: ") + std::strerror(errno));
      if (got == 0 && eof_ok) return false;
      fail(m_offset + got, std::string("the file ends inside ") + what + " (truncated)");
    }
    m_offset += n;
    return true;
  }
  void skip(uint64_t n, const char* what) {
    char buf[4096];
    while (n > 0) {
      const size_t chunk = n < sizeof buf ? static_cast<size_t>(n) : sizeof buf;
      read(buf, chunk, what);
      n -= chunk;
    }
  }

 private:
  std::string m_path;
  std::FILE* m_file = nullptr;
  uint64_t m_offset = 0;
  uint64_t m_size = UINT64_MAX;
};

// A timestamp in ps from a count of units of 10^-exp or 2^-exp seconds (if_tsresol).
struct resolution {
  bool binary = false;
  unsigned exp = 6;
  u128 to_ps(u128 units) const {
    if (binary) return exp >= 64 ? 0 : units * 1000000000000ull >> exp;
    u128 r = units;
    if (exp <= 12) {
      for (unsigned e = exp; e < 12; ++e) r *= 10;
    } else {
      for (unsigned e = 12; e < exp; ++e) r /= 10;
    }
    return r;
  }
};

struct builder {
  std::vector<pcap_capture::frame_ref> frames;
  bool have_first = false;
  u128 first_ps = 0, last_ps = 0;
  void add(reader& in, uint64_t frame_offset, uint32_t caplen, uint32_t origlen, bool timed, u128 ps,
           unsigned fcs_bytes, uint64_t block_offset) {
    if (caplen > pcap_max_frame_bytes)
      in.fail(block_offset, "a packet of " + std::to_string(caplen) + " bytes (at most " +
                                std::to_string(pcap_max_frame_bytes) + ")");
    if (caplen < origlen)
      in.fail(block_offset, "the packet was captured truncated (" + std::to_string(caplen) + " of its " +
                                std::to_string(origlen) +
                                " bytes, a snaplen): it cannot be replayed as it was on the wire");
    if (caplen < proto::ETH_HLEN + fcs_bytes)
      in.fail(block_offset, "a packet of " + std::to_string(caplen) +
                                " bytes is shorter than an Ethernet header" + (fcs_bytes ? " and FCS" : ""));
    if (!timed) ps = have_first ? last_ps : 0;
    if (!have_first) {
      have_first = true;
      first_ps = ps;
    }
    last_ps = ps;
    const u128 rel = ps > first_ps ? ps - first_ps : 0;  // an earlier time: sent as soon as the wire is free
    if (rel > static_cast<u128>(UINT64_MAX))
      in.fail(block_offset, "the packet's time is more than 200 days after the first packet's");
    frames.push_back({frame_offset, static_cast<uint64_t>(rel), caplen, fcs_bytes == 4});
  }
};

void load_pcap(reader& in, uint32_t magic, builder& out) {
  const bool swap = magic == 0xD4C3B2A1 || magic == 0x4D3CB2A1;
  const bool nano = magic == 0xA1B23C4D || magic == 0x4D3CB2A1;
  uint32_t h[5];  // version, thiszone, sigfigs, snaplen, linktype
  in.read(h, sizeof h, "the pcap file header");
  auto v32 = [swap](uint32_t x) { return swap ? bswap32(x) : x; };
  const uint32_t lt = v32(h[4]);
  if (lt_linktype(lt) != LINKTYPE_ETHERNET)
    in.fail(20, "link type " + std::to_string(lt_linktype(lt)) + "; only Ethernet (1) can be replayed");
  unsigned fcs = 0;
  if (lt & LT_FCS_LENGTH_PRESENT) {
    fcs = lt_fcs_length(lt) * 2;
    if (fcs != 0 && fcs != 4) in.fail(20, "an FCS of " + std::to_string(fcs) + " bytes; Ethernet's is 4");
  }
  for (;;) {
    const uint64_t at = in.offset();
    uint32_t rec[4];  // ts_sec, ts_frac, incl_len, orig_len
    if (!in.read(rec, sizeof rec, "a packet record header", true)) break;
    for (auto& x : rec) x = v32(x);
    if (rec[1] >= (nano ? 1000000000u : 1000000u))
      in.fail(at + 4, "the packet's sub-second time " + std::to_string(rec[1]) + " is not below one second");
    const u128 ps =
        static_cast<u128>(rec[0]) * 1000000000000ull + static_cast<u128>(rec[1]) * (nano ? 1000u : 1000000u);
    const uint64_t data_at = in.offset();
    if (rec[2] > pcap_max_frame_bytes)
      in.fail(at, "a packet of " + std::to_string(rec[2]) + " bytes (at most " +
                      std::to_string(pcap_max_frame_bytes) + ")");
    in.need(rec[2], at, "packet record");
    in.skip(rec[2], "a packet");
    out.add(in, data_at, rec[2], rec[3], true, ps, fcs, at);
  }
}

struct interface {
  resolution res;
  int64_t tsoffset_s = 0;
  unsigned fcs = 0;
  uint32_t snaplen = 0;
};

void load_pcapng(reader& in, builder& out, uint64_t& outbound) {
  std::vector<interface> ifs;
  bool swap = false;
  bool first = true;
  std::vector<uint8_t> body;
  for (;;) {
    const uint64_t at = in.offset();
    uint32_t head[2];
    if (!first) {
      if (!in.read(head, sizeof head, "a block header", true)) break;
    } else {
      head[0] = BT_SHB;
      in.read(&head[1], 4, "the section header");  // the magic is read
    }
    uint32_t type = swap ? bswap32(head[0]) : head[0];
    if (type == BT_SHB) {
      uint32_t bom;
      in.read(&bom, 4, "the section header");
      if (bom == BYTE_ORDER_MAGIC)
        swap = false;
      else if (bom == bswap32(BYTE_ORDER_MAGIC))
        swap = true;
      else
        in.fail(at + 8, "not a pcapng section header (its byte-order magic is wrong)");
      ifs.clear();  // interfaces are per section
    }
    first = false;
    auto v32 = [&swap](uint32_t x) { return swap ? bswap32(x) : x; };
    const uint32_t len = v32(head[1]);
    if (len < 12 || len % 4 != 0)
      in.fail(at + 4, "a block length of " + std::to_string(len) + " (at least 12, a multiple of 4)");
    if (len > 16 * 1024 * 1024)
      in.fail(at + 4, "a block of " + std::to_string(len) + " bytes (at most 16 MiB)");
    const uint32_t body_len = len - 12 - (type == BT_SHB ? 4 : 0);
    in.need(body_len + 4, at, "block");
    body.resize(body_len);
    in.read(body.data(), body_len, "a block");
    uint32_t trailer;
    in.read(&trailer, 4, "a block");
    if (v32(trailer) != len)
      in.fail(in.offset() - 4, "the block's trailing length " + std::to_string(v32(trailer)) +
                                   " differs from its leading length " + std::to_string(len));
    const uint64_t body_at = at + 8 + (type == BT_SHB ? 4 : 0);
    auto u16 = [&](size_t o) {
      uint16_t x;
      std::memcpy(&x, body.data() + o, 2);
      return swap ? __builtin_bswap16(x) : x;
    };
    auto u32 = [&](size_t o) {
      uint32_t x;
      std::memcpy(&x, body.data() + o, 4);
      return v32(x);
    };
    // Options from body offset o to the end: calls fn(code, value offset, length).
    auto options = [&](size_t o, auto fn) {
      while (o + 4 <= body.size()) {
        const uint16_t code = u16(o), olen = u16(o + 2);
        if (code == OPT_ENDOFOPT) return;
        const size_t padded = (static_cast<size_t>(olen) + 3) & ~size_t{3};
        if (o + 4 + padded > body.size()) in.fail(body_at + o, "an option runs past the end of its block");
        fn(code, o + 4, olen);
        o += 4 + padded;
      }
    };
    switch (type) {
      case BT_SHB:
        if (body.size() < 12 || u16(0) != 1)
          in.fail(body_at, "a pcapng section of major version " +
                               std::to_string(body.size() >= 2 ? u16(0) : 0) + " (1 is read)");
        break;
      case BT_IDB: {
        if (body.size() < 8) in.fail(body_at, "an interface description block too short");
        if (u16(0) != LINKTYPE_ETHERNET)
          in.fail(body_at, "interface " + std::to_string(ifs.size()) + " has link type " +
                               std::to_string(u16(0)) + "; only Ethernet (1) can be replayed");
        interface itf;
        itf.snaplen = u32(4);
        options(8, [&](uint16_t code, size_t o, uint16_t olen) {
          if (code == IF_TSRESOL && olen >= 1) {
            itf.res.binary = (body[o] & 0x80) != 0;
            itf.res.exp = body[o] & 0x7F;
            if (!itf.res.binary && itf.res.exp > 18)
              in.fail(body_at + o, "if_tsresol 10^-" + std::to_string(itf.res.exp) + " (at most 10^-18)");
          } else if (code == IF_TSOFFSET && olen >= 8) {
            const uint64_t lo = u32(o), hi = u32(o + 4);
            // The option is one 64-bit value in the section's byte order.
            itf.tsoffset_s = static_cast<int64_t>(swap ? (lo << 32 | hi) : (hi << 32 | lo));
          } else if (code == IF_FCSLEN && olen >= 1) {
            itf.fcs = body[o];
            if (itf.fcs != 0 && itf.fcs != 4)
              in.fail(body_at + o, "if_fcslen " + std::to_string(itf.fcs) + "; Ethernet's FCS is 4 bytes");
          }
        });
        ifs.push_back(itf);
        break;
      }
      case BT_EPB: {
        if (body.size() < 20) in.fail(body_at, "an enhanced packet block too short");
        const uint32_t id = u32(0), caplen = u32(12), origlen = u32(16);
        if (id >= ifs.size())
          in.fail(body_at, "the packet names interface " + std::to_string(id) +
                               ", which the section has not described");
        const size_t padded = (static_cast<size_t>(caplen) + 3) & ~size_t{3};
        if (caplen > pcap_max_frame_bytes || 20 + padded > body.size())
          in.fail(body_at + 12,
                  "a captured length of " + std::to_string(caplen) + " bytes that its block cannot hold");
        const interface& itf = ifs[id];
        unsigned fcs = itf.fcs;
        uint32_t dir = 0;
        options(20 + padded, [&](uint16_t code, size_t o, uint16_t olen) {
          if (code != EPB_FLAGS || olen < 4) return;
          const uint32_t flags = u32(o);
          dir = flags & 3;
          const unsigned f = (flags >> 5) & 0xF;
          if (f != 0) fcs = f;
          if (f != 0 && f != 4)
            in.fail(body_at + o, "epb_flags give an FCS of " + std::to_string(f) + " bytes; Ethernet's is 4");
        });
        if (dir == 2) {  // outbound: the host's own frames
          ++outbound;
          break;
        }
        const u128 units = static_cast<u128>(u32(4)) << 32 | u32(8);
        u128 ps = itf.res.to_ps(units);
        const u128 off =
            static_cast<u128>(itf.tsoffset_s < 0 ? -itf.tsoffset_s : itf.tsoffset_s) * 1000000000000ull;
        ps = itf.tsoffset_s < 0 ? (ps > off ? ps - off : 0) : ps + off;
        out.add(in, body_at + 20, caplen, origlen, true, ps, fcs, at);
        break;
      }
      case BT_SPB: {
        if (body.size() < 4) in.fail(body_at, "a simple packet block too short");
        if (ifs.empty()) in.fail(body_at, "a simple packet before any interface description");
        const uint32_t origlen = u32(0);
        const uint32_t snap = ifs[0].snaplen == 0 ? UINT32_MAX : ifs[0].snaplen;
        const uint32_t caplen = origlen < snap ? origlen : snap;
        if (4 + ((static_cast<size_t>(caplen) + 3) & ~size_t{3}) > body.size())
          in.fail(body_at,
                  "a simple packet of " + std::to_string(caplen) + " bytes that its block cannot hold");
        out.add(in, body_at + 4, caplen, origlen, false, 0, ifs[0].fcs, at);
        break;
      }
      case BT_OPB:
        in.fail(at, "an obsolete Packet Block (type 2); convert the file (editcap -F pcapng) to replay it");
      default:
        break;  // name resolution, statistics, custom, ...: nothing to replay
    }
  }
}

}  // namespace

std::shared_ptr<const pcap_capture> pcap_capture::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw config_error(path + ": cannot read the capture: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw config_error(path + ": the capture is not a regular file");
  auto cap = std::make_shared<pcap_capture>();
  cap->m_path = path;
  reader in(path);
  uint32_t magic;
  in.read(&magic, 4, "the file header");
  builder b;
  switch (magic) {
    case 0xA1B2C3D4:
    case 0xD4C3B2A1:
    case 0xA1B23C4D:
    case 0x4D3CB2A1:
      load_pcap(in, magic, b);
      break;
    case BT_SHB:
      cap->m_pcapng = true;
      load_pcapng(in, b, cap->m_outbound);
      break;
    default:
      in.fail(0, "neither pcap nor pcapng (the first four bytes are no magic of either)");
  }
  if (b.frames.empty())
    throw config_error(
        path + ": the capture holds no frame to replay" +
        (cap->m_outbound ? " (only " + std::to_string(cap->m_outbound) + " outbound ones)" : ""));
  cap->m_frames = std::move(b.frames);
  cap->m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (cap->m_fd < 0) throw config_error(path + ": cannot read the capture: " + std::strerror(errno));
  return cap;
}

pcap_capture::~pcap_capture() {
  if (m_fd >= 0) ::close(m_fd);
}

void pcap_capture::wire_bytes(size_t i, std::vector<uint8_t>& out) const {
  const frame_ref& f = m_frames.at(i);
  out.resize(f.length);
  const ssize_t n = ::pread(m_fd, out.data(), f.length, static_cast<off_t>(f.offset));
  const int err = errno;
  if (n != static_cast<ssize_t>(f.length))
    throw std::runtime_error(m_path + ": byte offset " + std::to_string(f.offset) +
                             ": the capture changed since it was checked" +
                             (n < 0 ? std::string(": ") + std::strerror(err) : std::string()));
  if (f.has_fcs) return;
  // No FCS in the capture: the sending MAC pads to the minimum and appends one.
  constexpr size_t min_body = proto::ETH_MIN_FRAME - proto::ETH_FCS_LEN;
  if (out.size() < min_body) out.resize(min_body, 0);
  const uint32_t fcs = proto::crc32(out.data(), out.size());
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<uint8_t>(fcs >> (8 * k)));
}

// ------------------------------------------------------------------ the replay

// traffic.pcap: the capture's frames in file order, at the capture's own times relative to its
// first frame (which goes at traffic start), or back to back at traffic.rate_gbps
// (traffic.pcap_timing=rate, paced like the constant pattern: one frame's slot / load apart).
// traffic.pcap_loop more passes follow, each starting when the wire is free after the last
// frame of the one before; traffic.count still limits the frames. A frame's id is its place
// in the replay (0, 1, ... across passes).
void traffic_source::run_pcap() {
  const pcap_capture& cap = *m_params.capture;
  if (m_start_after != nullptr) sc_core::wait(*m_start_after);
  sc_core::wait(m_params.start);
  const double load = m_params.rate_gbps / m_params.line_rate_gbps;
  uint64_t id = 0;
  sc_core::sc_time next = sc_core::sc_time_stamp();
  for (uint64_t pass = 0; pass <= m_params.pcap_loop; ++pass) {
    const sc_core::sc_time pass_start = pass == 0 ? sc_core::sc_time_stamp() : m_port.next_start();
    for (size_t i = 0; i < cap.frames().size(); ++i, ++id) {
      if (m_params.count != 0 && id >= m_params.count) return;
      const sc_core::sc_time at = m_params.pcap_timing == traffic_params::pcap_capture_time
                                      ? pass_start + sc_core::sc_time::from_value(cap.frames()[i].time_ps)
                                      : next;
      const sc_core::sc_time now = sc_core::sc_time_stamp();
      if (at > now) sc_core::wait(at - now);
      proto::wire_frame& f = m_on_wire;  // a member: the run may end mid-frame
      cap.wire_bytes(i, f.bytes);
      f.id = id;
      f.first_bit_ps = sc_core::sc_time_stamp().value();
      next = sc_core::sc_time_stamp() + m_port.slot_time(f.bytes.size()) / load;
      m_port.transmit(f);
    }
  }
}

}  // namespace nicsim::tb
