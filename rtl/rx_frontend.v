/*
 * Receive front end: checks a frame as it streams in from the MAC.
 *
 * The frame arrives on an AXI stream, FCS included, byte 0 in tdata[7:0];
 * every beat but the last is full, and the last one holds its bytes in the
 * low lanes (tkeep contiguous from bit 0, as a MAC delivers it). The block is
 * clocked only while beats are present, so every sum is accumulated per beat
 * and the status is complete at the clock edge that takes the tlast beat:
 * m_status_valid is then high until the next beat.
 *
 * - FCS: the CRC-32 register runs over the FCS too; a good frame leaves the
 *   IEEE 802.3 residue, so the FCS bytes need not be told apart while streaming.
 *   A whole beat is taken in at once, one ROM term per lane.
 * - IPv4 header and TCP/UDP checksums: 16-bit one's complement sums of the bytes
 *   in range. Both ranges start at even frame offsets, so a byte's weight in
 *   its 16-bit word follows from its lane alone. The fields that bound the ranges
 *   (IHL, total length) always precede the bytes they bound, and the header
 *   buffer's next-state view lets them bound bytes of their own beat. A beat
 *   wholly inside a range is summed without a lane mask.
 * - RSS: Toeplitz hash of {src ip, dst ip, src port, dst port} for unfragmented
 *   TCP/UDP, {src ip, dst ip} for other IPv4, computed from the header buffer
 *   at the end of the frame.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module rx_frontend #
(
    // Width of the AXI stream data; a 16-bit word must not straddle a beat
    parameter DATA_W = 512,
    parameter KEEP_W = DATA_W/8
)
(
    input  wire              clk,
    input  wire              rst_n,

    input  wire [DATA_W-1:0] s_axis_tdata,
    input  wire [KEEP_W-1:0] s_axis_tkeep,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,
    input  wire              s_axis_tlast,

    // 40-byte Toeplitz key, key byte 0 in bits 319:312
    input  wire [319:0]      rss_key,
    // TCP/UDP checksum offload enable (NETIF_F_RXCSUM)
    input  wire              rx_csum_en,
    // MRQC hash fields: hash TCP / UDP over the 4-tuple (ethtool -N rx-flow-hash
    // tcp4|udp4 sdfn); otherwise over the addresses only (sd)
    input  wire              rss_l4_tcp,
    input  wire              rss_l4_udp,

    output wire              m_status_valid,
    output wire              fcs_ok,
    // Frame bytes including FCS, saturating at 16'hFFFF
    output wire [15:0]       len,
    output wire              is_ipv4,
    output wire              ip_hdr_ok,
    output wire [7:0]        l4_proto,
    // Unfragmented UDP/TCP in a good IPv4 header: ports and checksum are visible
    output wire              is_udp,
    output wire              is_tcp,
    // Verified TCP/UDP checksum (or UDP checksum 0); low when rx_csum_en is low
    output wire              l4_csum_ok,
    output wire [31:0]       rss_hash,
    output wire              runt,
    output wire              oversize
);

localparam BEAT_BYTES = KEEP_W;
// Ethernet header, the longest IPv4 header and the first 8 bytes of TCP/UDP
localparam HDR_BYTES = 128;
// Bits to number a lane, and to count the bytes of a beat
localparam LANE_W = $clog2(BEAT_BYTES);
localparam NBYTES_W = $clog2(BEAT_BYTES + 1);
// Bits of the CRC register the first lanes of a beat take in (all of them
// unless the beat is narrower than the register)
localparam CRC_IN_W = DATA_W < 32 ? DATA_W : 32;

localparam [31:0] ETH_HLEN = 14;
localparam [31:0] ETH_FCS_LEN = 4;
localparam [31:0] MIN_FRAME = 64;
localparam [31:0] MAX_FRAME = 1518;
localparam [15:0] ETH_P_IP = 16'h0800;
localparam [7:0]  IPPROTO_TCP = 8'd6;
localparam [7:0]  IPPROTO_UDP = 8'd17;
localparam [31:0] UDP_HLEN = 8;
localparam [31:0] TCP_HLEN = 20;
// CRC register after a frame and its correct FCS (before the final inversion)
localparam [31:0] CRC_RESIDUE = 32'hDEBB20E3;

generate
    if (DATA_W < 16 || DATA_W % 16 != 0) begin : g_data_w_not_16_bit_words
        $error("Error: DATA_W must be a multiple of 16 so that 16-bit words do not straddle beats");
    end

    if (KEEP_W * 8 != DATA_W) begin : g_keep_w_mismatch
        $error("Error: KEEP_W must be DATA_W/8");
    end
endgenerate

function [31:0] crc32_byte(input [31:0] crc, input [7:0] data);
    integer b;
    begin
        crc32_byte = crc ^ {24'd0, data};
        for (b = 0; b < 8; b = b + 1) begin
            crc32_byte = crc32_byte[0] ? (crc32_byte >> 1) ^ 32'hEDB88320 : crc32_byte >> 1;
        end
    end
endfunction

// CRC-32 over a whole beat at once. The byte-serial update is linear, so the
// register after a beat is the XOR of one term per lane:
// crc_lane_rom[{lane, b}] is what byte b in that lane leaves in a register
// that was zero before the beat, once the rest of the beat has gone through.
// The register entering the beat folds into the first four lanes. (Each
// lane's ROM is a constant linear map of 8 bits: synthesis makes XOR gates of it.)
//
// A short last beat is zero-padded to full width. Zero bytes only advance the
// register by a fixed invertible map, so the padded frame leaves the residue
// advanced by as many zero bytes exactly when the frame is good:
// crc_residue_rom[n] is that value for a last beat of n bytes.
reg [31:0] crc_lane_rom [0:BEAT_BYTES*256-1];
reg [31:0] crc_residue_rom [0:BEAT_BYTES];
// The last lane's ROM is the byte-wise CRC table; each earlier lane's term is
// the next lane's advanced by one zero byte through that table.
localparam LAST_LANE_ROM = (BEAT_BYTES - 1) * 256;
reg [31:0] crc_init;
integer t, l;
initial begin
    for (t = 0; t < 256; t = t + 1) begin
        crc_lane_rom[LAST_LANE_ROM + t] = crc32_byte(32'd0, t[7:0]);
    end
    for (l = BEAT_BYTES - 2; l >= 0; l = l - 1) begin
        for (t = 0; t < 256; t = t + 1) begin
            crc_init = crc_lane_rom[(l+1)*256 + t];
            crc_lane_rom[l*256 + t] = crc_lane_rom[LAST_LANE_ROM + {24'd0, crc_init[7:0]}] ^ (crc_init >> 8);
        end
    end
    crc_init = CRC_RESIDUE;
    for (l = BEAT_BYTES; l >= 0; l = l - 1) begin
        crc_residue_rom[l] = crc_init;
        crc_init = crc_lane_rom[LAST_LANE_ROM + {24'd0, crc_init[7:0]}] ^ (crc_init >> 8);
    end
end

function [15:0] csum_fold(input [31:0] sum);
    reg [16:0] s;
    begin
        s = {1'b0, sum[15:0]} + {1'b0, sum[31:16]};
        csum_fold = s[15:0] + {15'd0, s[16]};
    end
endfunction

// One's complement sums are taken as 16-bit words in lane order (byte 0 in the
// low half): the byte-swapped form of the network-order sum. One's complement
// sums do not depend on byte order (RFC 1071), so the folded sum is swapped
// back once, at the end of the frame. The sums are plain 32-bit integers until
// then, so a range's sum is a difference of the beat's prefix sums.

// The bits of the bytes of 16-bit word w (lanes 2w and 2w+1) below lane n
function [15:0] word_keep(input [31:0] w, input [31:0] n);
    begin
        if (n >= 2*w + 2) begin
            word_keep = 16'hFFFF;
        end else if (n == 2*w + 1) begin
            word_keep = 16'h00FF;
        end else begin
            word_keep = 16'h0000;
        end
    end
endfunction

// A frame offset as a lane of the beat at offset `base`, clamped to 0..BEAT_BYTES
function [31:0] beat_lane(input [31:0] base, input [31:0] pos);
    begin
        if (pos <= base) begin
            beat_lane = 32'd0;
        end else if (pos - base >= BEAT_BYTES) begin
            beat_lane = BEAT_BYTES;
        end else begin
            beat_lane = pos - base;
        end
    end
endfunction

// Microsoft RSS Toeplitz hash; input bit 0 is the most significant bit of data.
// Each 32-bit word of the input sees a 64-bit window of the key.
function [31:0] toeplitz96(input [319:0] key, input [95:0] data);
    integer w, b;
    reg [63:0] window;
    begin
        toeplitz96 = 32'd0;
        for (w = 0; w < 3; w = w + 1) begin
            window = key[319-32*w -: 64];
            for (b = 0; b < 32; b = b + 1) begin
                toeplitz96 = toeplitz96 ^ (window[63-b -: 32] & {32{data[95-32*w-b]}});
            end
        end
    end
endfunction

// Bytes before the current beat
reg [31:0]             offset_reg = 32'd0;
reg [31:0]             crc_reg = 32'hFFFFFFFF;
// Sums in lane order (see the note above word_keep)
reg [31:0]             ip_sum_reg = 32'd0;
reg [31:0]             l4_sum_reg = 32'd0;
reg [HDR_BYTES*8-1:0]  hdr_reg = {HDR_BYTES*8{1'b0}};

reg        status_valid_reg = 1'b0;
reg        fcs_ok_reg = 1'b0;
reg [15:0] len_reg = 16'd0;
reg        is_ipv4_reg = 1'b0;
reg        ip_hdr_ok_reg = 1'b0;
reg [7:0]  l4_proto_reg = 8'd0;
reg        is_udp_reg = 1'b0;
reg        is_tcp_reg = 1'b0;
reg        l4_csum_ok_reg = 1'b0;
reg [31:0] rss_hash_reg = 32'd0;
reg        runt_reg = 1'b0;
reg        oversize_reg = 1'b0;

assign s_axis_tready = 1'b1;

assign m_status_valid = status_valid_reg;
assign fcs_ok = fcs_ok_reg;
assign len = len_reg;
assign is_ipv4 = is_ipv4_reg;
assign ip_hdr_ok = ip_hdr_ok_reg;
assign l4_proto = l4_proto_reg;
assign is_udp = is_udp_reg;
assign is_tcp = is_tcp_reg;
assign l4_csum_ok = l4_csum_ok_reg;
assign rss_hash = rss_hash_reg;
assign runt = runt_reg;
assign oversize = oversize_reg;

// The beat's logic is computed in the clocked process, in variables local to
// it: it is needed only at the clock edge that takes a beat, and all outputs
// are registered.
always @(posedge clk) begin : beat_proc
    // Valid bytes in the beat (tkeep is contiguous from lane 0) and the beat
    // with the bytes past them zeroed
    reg [31:0]             nbytes;
    reg [DATA_W-1:0]       data;
    reg [31:0]             crc;
    reg [31:0]             ip_sum;
    reg [31:0]             l4_sum;
    // The header buffer with the current beat merged in
    reg [HDR_BYTES*8-1:0]  hdr;
    // prefix[w]: the sum of the beat's 16-bit words 0 to w-1
    reg [31:0]             prefix [0:DATA_W/16];
    reg [31:0]             lo, hi, part;

    reg        eth_ipv4;
    reg [3:0]  ip_version;
    reg [31:0] ip_hlen;
    reg [31:0] ip_total_len;
    reg        ip_fragment;
    reg [7:0]  ip_proto;
    reg [31:0] ip_saddr;
    reg [31:0] ip_daddr;
    reg [31:0] l4_start;
    reg [31:0] ip_end;
    reg [31:0] l4_len;
    reg [31:0] l4_ports;
    reg [15:0] udp_check;
    // Frame offset just past the beat
    reg [31:0] beat_end;

    reg [31:0] frame_len;
    reg        is_ipv4_v, ip_hdr_ok_v, is_udp_v, is_tcp_v;
    reg        l4_visible;
    reg [15:0] l4_fold;
    reg [31:0] pseudo_sum;
    reg [31:0] l4_total;
    reg        l4_sum_verifies;
    reg        hash_l4;
    integer    lane, i, r;

    status_valid_reg <= 1'b0;

    if (s_axis_tvalid) begin
        data = s_axis_tdata;
        nbytes = BEAT_BYTES;
        if (!(&s_axis_tkeep)) begin
            nbytes = 32'd0;
            for (lane = 0; lane < BEAT_BYTES; lane = lane + 1) begin
                if (s_axis_tkeep[lane]) nbytes = lane + 1;
            end
            for (i = 0; i < DATA_W/16; i = i + 1) begin
                data[i*16 +: 16] = data[i*16 +: 16] & word_keep(i, nbytes);
            end
        end

        // CRC: the register enters through the first lanes; the part of it
        // that a narrow beat does not reach is shifted along
        crc = CRC_IN_W < 32 ? crc_reg >> CRC_IN_W : 32'd0;
        for (lane = 0; lane < BEAT_BYTES; lane = lane + 1) begin
            crc = crc ^ crc_lane_rom[{lane[LANE_W-1:0], data[lane*8 +: 8] ^
                (lane*8 < CRC_IN_W ? crc_reg[(lane%4)*8 +: 8] : 8'd0)}];
        end

        // Only beats that overlap the header window write it (most of a long frame does
        // not): they read the header with the beat merged in, the others the register.
        if (offset_reg < HDR_BYTES) begin
            hdr = hdr_reg;
            // One slot per beat position in the window: the beat lands in the slot it addresses
            for (i = 0; i < HDR_BYTES; i = i + BEAT_BYTES) begin
                if (offset_reg == i) begin
                    // Word by word: Verilator copies aligned words instead of inserting bits
                    for (lane = 0; lane < DATA_W/16; lane = lane + 1) begin
                        hdr[i*8 + lane*16 +: 16] = data[lane*16 +: 16];
                    end
                end
            end
            eth_ipv4 = hdr[12*8 +: 8] == ETH_P_IP[15:8] && hdr[13*8 +: 8] == ETH_P_IP[7:0];
            ip_version = hdr[14*8+4 +: 4];
            ip_hlen = {26'd0, hdr[14*8 +: 4], 2'b00};
            ip_total_len = {16'd0, hdr[16*8 +: 8], hdr[17*8 +: 8]};
        end else begin
            eth_ipv4 = hdr_reg[12*8 +: 8] == ETH_P_IP[15:8] && hdr_reg[13*8 +: 8] == ETH_P_IP[7:0];
            ip_version = hdr_reg[14*8+4 +: 4];
            ip_hlen = {26'd0, hdr_reg[14*8 +: 4], 2'b00};
            ip_total_len = {16'd0, hdr_reg[16*8 +: 8], hdr_reg[17*8 +: 8]};
        end
        l4_start = ETH_HLEN + ip_hlen;
        ip_end = ETH_HLEN + ip_total_len;

        // Sum the lanes in range. A beat wholly inside the datagram (most of a long
        // frame) adds all its words; a beat a range starts or ends in adds a difference
        // of two prefix sums, plus the low byte of one more word when the range ends at
        // an odd lane. Both ranges start at even lanes (ETH_HLEN and l4_start are even,
        // and beats are whole words).
        ip_sum = ip_sum_reg;
        l4_sum = l4_sum_reg;
        beat_end = offset_reg + BEAT_BYTES;
        if (eth_ipv4 && offset_reg >= l4_start && beat_end <= ip_end) begin
            for (i = 0; i < DATA_W/16; i = i + 1) begin
                l4_sum = l4_sum + {16'd0, data[i*16 +: 16]};
            end
        end else if (eth_ipv4 && offset_reg < (ip_end > l4_start ? ip_end : l4_start) &&
                     beat_end > ETH_HLEN) begin
            prefix[0] = 32'd0;
            for (i = 0; i < DATA_W/16; i = i + 1) begin
                prefix[i+1] = prefix[i] + {16'd0, data[i*16 +: 16]};
            end
            // Range 0, the IPv4 header: frame bytes ETH_HLEN to l4_start-1; range 1, the
            // TCP/UDP datagram: l4_start to ip_end-1
            for (r = 0; r < 2; r = r + 1) begin
                lo = beat_lane(offset_reg, r == 0 ? ETH_HLEN : l4_start);
                hi = beat_lane(offset_reg, r == 0 ? l4_start : ip_end);
                part = hi > lo ? prefix[hi[LANE_W:1]] - prefix[lo[LANE_W:1]] +
                    (hi[0] ? {24'd0, data[(hi-1)*8 +: 8]} : 32'd0) : 32'd0;
                if (r == 0) ip_sum = ip_sum + part;
                else l4_sum = l4_sum + part;
            end
        end

        if (s_axis_tlast) begin
            if (offset_reg >= HDR_BYTES) hdr = hdr_reg;
            // MF set or a non-zero fragment offset: ports and checksum are not all here
            ip_fragment = hdr[20*8+5] || hdr[20*8 +: 5] != 5'd0 || hdr[21*8 +: 8] != 8'd0;
            ip_proto = hdr[23*8 +: 8];
            ip_saddr = {hdr[26*8 +: 8], hdr[27*8 +: 8], hdr[28*8 +: 8], hdr[29*8 +: 8]};
            ip_daddr = {hdr[30*8 +: 8], hdr[31*8 +: 8], hdr[32*8 +: 8], hdr[33*8 +: 8]};
            l4_len = ip_total_len - ip_hlen;
            l4_ports = {hdr[l4_start*8 +: 8], hdr[(l4_start+1)*8 +: 8],
                        hdr[(l4_start+2)*8 +: 8], hdr[(l4_start+3)*8 +: 8]};
            udp_check = {hdr[(l4_start+6)*8 +: 8], hdr[(l4_start+7)*8 +: 8]};

            frame_len = offset_reg + nbytes;
            is_ipv4_v = eth_ipv4 && frame_len >= ETH_HLEN;
            // The datagram must fit in the frame: a truncated one is no good header either
            ip_hdr_ok_v = is_ipv4_v && ip_version == 4'd4 && ip_hlen >= 32'd20 &&
                csum_fold(ip_sum) == 16'hFFFF && ip_total_len >= ip_hlen &&
                ip_end + ETH_FCS_LEN <= frame_len;

            l4_visible = ip_hdr_ok_v && !ip_fragment;
            is_udp_v = l4_visible && ip_proto == IPPROTO_UDP && l4_len >= UDP_HLEN;
            is_tcp_v = l4_visible && ip_proto == IPPROTO_TCP && l4_len >= TCP_HLEN;

            // The datagram's folded sum back in network byte order, plus the pseudo header
            l4_fold = csum_fold(l4_sum);
            pseudo_sum = {16'd0, ip_saddr[31:16]} + {16'd0, ip_saddr[15:0]} +
                {16'd0, ip_daddr[31:16]} + {16'd0, ip_daddr[15:0]} +
                {24'd0, ip_proto} + {16'd0, l4_len[15:0]};
            l4_total = {16'd0, l4_fold[7:0], l4_fold[15:8]} + pseudo_sum;
            l4_sum_verifies = csum_fold(l4_total) == 16'hFFFF;

            hash_l4 = (is_udp_v && rss_l4_udp) || (is_tcp_v && rss_l4_tcp);

            offset_reg <= 32'd0;
            crc_reg <= 32'hFFFFFFFF;
            ip_sum_reg <= 32'd0;
            l4_sum_reg <= 32'd0;
            hdr_reg <= {HDR_BYTES*8{1'b0}};

            status_valid_reg <= 1'b1;
            fcs_ok_reg <= crc == crc_residue_rom[nbytes[NBYTES_W-1:0]];
            len_reg <= frame_len > 32'hFFFF ? 16'hFFFF : frame_len[15:0];
            is_ipv4_reg <= is_ipv4_v;
            ip_hdr_ok_reg <= ip_hdr_ok_v;
            l4_proto_reg <= is_ipv4_v ? ip_proto : 8'd0;
            is_udp_reg <= is_udp_v;
            is_tcp_reg <= is_tcp_v;
            // RFC 768: a zero UDP checksum means the sender did not compute one
            l4_csum_ok_reg <= rx_csum_en &&
                ((is_udp_v && (udp_check == 16'd0 || l4_sum_verifies)) ||
                 (is_tcp_v && l4_sum_verifies));
            rss_hash_reg <= is_ipv4_v ?
                toeplitz96(rss_key, {ip_saddr, ip_daddr, hash_l4 ? l4_ports : 32'd0}) : 32'd0;
            runt_reg <= frame_len < MIN_FRAME;
            oversize_reg <= frame_len > MAX_FRAME;
        end else begin
            offset_reg <= offset_reg + BEAT_BYTES;
            crc_reg <= crc;
            ip_sum_reg <= ip_sum;
            l4_sum_reg <= l4_sum;
            if (offset_reg < HDR_BYTES) hdr_reg <= hdr;
        end
    end

    if (!rst_n) begin
        offset_reg <= 32'd0;
        crc_reg <= 32'hFFFFFFFF;
        ip_sum_reg <= 32'd0;
        l4_sum_reg <= 32'd0;
        hdr_reg <= {HDR_BYTES*8{1'b0}};
        status_valid_reg <= 1'b0;
        fcs_ok_reg <= 1'b0;
        len_reg <= 16'd0;
        is_ipv4_reg <= 1'b0;
        ip_hdr_ok_reg <= 1'b0;
        l4_proto_reg <= 8'd0;
        is_udp_reg <= 1'b0;
        is_tcp_reg <= 1'b0;
        l4_csum_ok_reg <= 1'b0;
        rss_hash_reg <= 32'd0;
        runt_reg <= 1'b0;
        oversize_reg <= 1'b0;
    end
end

endmodule

`default_nettype wire
