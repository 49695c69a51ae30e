/*
 * Receive front end: checks a frame as it streams in from the MAC.
 *
 * The frame arrives on an AXI stream, FCS included, byte 0 in tdata[7:0];
 * every beat but the last is full. The block is clocked only while beats are
 * present, so every sum is accumulated per beat and the status is complete at
 * the clock edge that takes the tlast beat: m_status_valid is then high until
 * the next beat.
 *
 * - FCS: the CRC-32 register runs over the FCS too; a good frame leaves the
 *   IEEE 802.3 residue, so the FCS bytes need not be told apart while streaming.
 * - IPv4 header and TCP/UDP checksums: 16-bit one's complement sums of the bytes
 *   in range. Both ranges start at even frame offsets, so a byte's weight in
 *   its 16-bit word follows from its lane alone. The fields that bound the ranges
 *   (IHL, total length) always precede the bytes they bound, and the header
 *   buffer's next-state view lets them bound bytes of their own beat.
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

// The byte-wise CRC-32 table (the ROM a byte-serial CRC unit holds): one
// lookup per byte instead of eight shift steps.
reg [31:0] crc_table [0:255];
integer t;
initial begin
    for (t = 0; t < 256; t = t + 1) begin
        crc_table[t] = crc32_byte(32'd0, t[7:0]);
    end
end

function [15:0] csum_fold(input [31:0] sum);
    reg [16:0] s;
    begin
        s = {1'b0, sum[15:0]} + {1'b0, sum[31:16]};
        csum_fold = s[15:0] + {15'd0, s[16]};
    end
endfunction

// Microsoft RSS Toeplitz hash; input bit 0 is the most significant bit of data
function [31:0] toeplitz96(input [319:0] key, input [95:0] data);
    integer b;
    begin
        toeplitz96 = 32'd0;
        for (b = 0; b < 96; b = b + 1) begin
            if (data[95-b]) begin
                toeplitz96 = toeplitz96 ^ key[319-b -: 32];
            end
        end
    end
endfunction

// Bytes before the current beat
reg [31:0]             offset_reg = 32'd0;
reg [31:0]             crc_reg = 32'hFFFFFFFF, crc_next;
reg [31:0]             ip_sum_reg = 32'd0, ip_sum_next;
reg [31:0]             l4_sum_reg = 32'd0, l4_sum_next;
reg [HDR_BYTES*8-1:0]  hdr_reg = {HDR_BYTES*8{1'b0}}, hdr_next;

reg        status_valid_reg = 1'b0;
reg        fcs_ok_reg = 1'b0, fcs_ok_next;
reg [15:0] len_reg = 16'd0, len_next;
reg        is_ipv4_reg = 1'b0, is_ipv4_next;
reg        ip_hdr_ok_reg = 1'b0, ip_hdr_ok_next;
reg [7:0]  l4_proto_reg = 8'd0, l4_proto_next;
reg        is_udp_reg = 1'b0, is_udp_next;
reg        is_tcp_reg = 1'b0, is_tcp_next;
reg        l4_csum_ok_reg = 1'b0, l4_csum_ok_next;
reg [31:0] rss_hash_reg = 32'd0, rss_hash_next;
reg        runt_reg = 1'b0, runt_next;
reg        oversize_reg = 1'b0, oversize_next;

// Header fields as seen with the current beat merged in
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

reg [31:0] frame_len;
reg [31:0] pos;
reg [7:0]  lane_byte;
reg [15:0] lane_word;
reg        l4_visible;
reg [31:0] pseudo_sum;
reg [31:0] l4_total;
reg        l4_sum_verifies;
integer    lane, i, k;

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

always @* begin
    hdr_next = hdr_reg;
    // Only beats that overlap the header window write it (most of a long frame does not)
    if (offset_reg < HDR_BYTES) begin
        // One slot per beat position in the window: the beat lands in the slot it addresses
        for (i = 0; i < HDR_BYTES; i = i + BEAT_BYTES) begin
            if (offset_reg == i) begin
                if (&s_axis_tkeep) begin
                    hdr_next[i*8 +: DATA_W] = s_axis_tdata;
                end else begin
                    for (k = 0; k < BEAT_BYTES; k = k + 1) begin
                        if (s_axis_tkeep[k]) hdr_next[(i+k)*8 +: 8] = s_axis_tdata[k*8 +: 8];
                    end
                end
            end
        end
    end
end

always @* begin
    eth_ipv4 = hdr_next[12*8 +: 8] == ETH_P_IP[15:8] && hdr_next[13*8 +: 8] == ETH_P_IP[7:0];
    ip_version = hdr_next[14*8+4 +: 4];
    ip_hlen = {26'd0, hdr_next[14*8 +: 4], 2'b00};
    ip_total_len = {16'd0, hdr_next[16*8 +: 8], hdr_next[17*8 +: 8]};
    // MF set or a non-zero fragment offset: ports and checksum are not all here
    ip_fragment = hdr_next[20*8+5] || hdr_next[20*8 +: 5] != 5'd0 || hdr_next[21*8 +: 8] != 8'd0;
    ip_proto = hdr_next[23*8 +: 8];
    ip_saddr = {hdr_next[26*8 +: 8], hdr_next[27*8 +: 8], hdr_next[28*8 +: 8], hdr_next[29*8 +: 8]};
    ip_daddr = {hdr_next[30*8 +: 8], hdr_next[31*8 +: 8], hdr_next[32*8 +: 8], hdr_next[33*8 +: 8]};
    l4_start = ETH_HLEN + ip_hlen;
    ip_end = ETH_HLEN + ip_total_len;
    l4_len = ip_total_len - ip_hlen;
    l4_ports = {hdr_next[l4_start*8 +: 8], hdr_next[(l4_start+1)*8 +: 8],
                hdr_next[(l4_start+2)*8 +: 8], hdr_next[(l4_start+3)*8 +: 8]};
    udp_check = {hdr_next[(l4_start+6)*8 +: 8], hdr_next[(l4_start+7)*8 +: 8]};
end

always @* begin
    crc_next = crc_reg;
    ip_sum_next = ip_sum_reg;
    l4_sum_next = l4_sum_reg;
    frame_len = offset_reg;
    pos = offset_reg;
    lane_byte = 8'd0;
    lane_word = 16'd0;

    for (lane = 0; lane < BEAT_BYTES; lane = lane + 1) begin
        if (s_axis_tkeep[lane]) begin
            pos = offset_reg + lane;
            lane_byte = s_axis_tdata[lane*8 +: 8];
            // Frames start at an even offset: even bytes are the high half of a word
            lane_word = pos[0] ? {8'd0, lane_byte} : {lane_byte, 8'd0};
            frame_len = pos + 1;
            crc_next = crc_table[crc_next[7:0] ^ lane_byte] ^ (crc_next >> 8);
            if (eth_ipv4 && pos >= ETH_HLEN && pos < l4_start) begin
                ip_sum_next = ip_sum_next + {16'd0, lane_word};
            end
            if (eth_ipv4 && pos >= l4_start && pos < ip_end) begin
                l4_sum_next = l4_sum_next + {16'd0, lane_word};
            end
        end
    end

    fcs_ok_next = crc_next == CRC_RESIDUE;
    len_next = frame_len > 32'hFFFF ? 16'hFFFF : frame_len[15:0];
    runt_next = frame_len < MIN_FRAME;
    oversize_next = frame_len > MAX_FRAME;

    is_ipv4_next = eth_ipv4 && frame_len >= ETH_HLEN;
    // The datagram must fit in the frame: a truncated one is no good header either
    ip_hdr_ok_next = is_ipv4_next && ip_version == 4'd4 && ip_hlen >= 32'd20 &&
        csum_fold(ip_sum_next) == 16'hFFFF && ip_total_len >= ip_hlen &&
        ip_end + ETH_FCS_LEN <= frame_len;
    l4_proto_next = is_ipv4_next ? ip_proto : 8'd0;

    l4_visible = ip_hdr_ok_next && !ip_fragment;
    is_udp_next = l4_visible && ip_proto == IPPROTO_UDP && l4_len >= UDP_HLEN;
    is_tcp_next = l4_visible && ip_proto == IPPROTO_TCP && l4_len >= TCP_HLEN;

    pseudo_sum = {16'd0, ip_saddr[31:16]} + {16'd0, ip_saddr[15:0]} +
        {16'd0, ip_daddr[31:16]} + {16'd0, ip_daddr[15:0]} +
        {24'd0, ip_proto} + {16'd0, l4_len[15:0]};
    l4_total = l4_sum_next + pseudo_sum;
    l4_sum_verifies = csum_fold(l4_total) == 16'hFFFF;
    // RFC 768: a zero UDP checksum means the sender did not compute one
    l4_csum_ok_next = rx_csum_en &&
        ((is_udp_next && (udp_check == 16'd0 || l4_sum_verifies)) ||
         (is_tcp_next && l4_sum_verifies));

    // The hash is registered only with the last beat: compute it only then
    if (!is_ipv4_next || !s_axis_tlast) begin
        rss_hash_next = 32'd0;
    end else if ((is_udp_next && rss_l4_udp) || (is_tcp_next && rss_l4_tcp)) begin
        rss_hash_next = toeplitz96(rss_key, {ip_saddr, ip_daddr, l4_ports});
    end else begin
        rss_hash_next = toeplitz96(rss_key, {ip_saddr, ip_daddr, 32'd0});
    end
end

always @(posedge clk) begin
    status_valid_reg <= 1'b0;

    if (s_axis_tvalid) begin
        if (s_axis_tlast) begin
            offset_reg <= 32'd0;
            crc_reg <= 32'hFFFFFFFF;
            ip_sum_reg <= 32'd0;
            l4_sum_reg <= 32'd0;
            hdr_reg <= {HDR_BYTES*8{1'b0}};

            status_valid_reg <= 1'b1;
            fcs_ok_reg <= fcs_ok_next;
            len_reg <= len_next;
            is_ipv4_reg <= is_ipv4_next;
            ip_hdr_ok_reg <= ip_hdr_ok_next;
            l4_proto_reg <= l4_proto_next;
            is_udp_reg <= is_udp_next;
            is_tcp_reg <= is_tcp_next;
            l4_csum_ok_reg <= l4_csum_ok_next;
            rss_hash_reg <= rss_hash_next;
            runt_reg <= runt_next;
            oversize_reg <= oversize_next;
        end else begin
            offset_reg <= offset_reg + BEAT_BYTES;
            crc_reg <= crc_next;
            ip_sum_reg <= ip_sum_next;
            l4_sum_reg <= l4_sum_next;
            hdr_reg <= hdr_next;
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
