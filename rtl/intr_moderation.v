/*
 * Receive interrupt moderation (ethtool rx-usecs / rx-frames).
 *
 * Time is an input rather than a count of idle clocks: the block is clocked
 * only when something happens (a packet completes, the driver writes the
 * mask, or the rx-usecs deadline is reached), and now_ns tells it when that
 * is. An idle block therefore costs no clock cycles at all.
 *
 * The first packet after an interrupt arms the timer at now_ns + rx_usecs us.
 * The interrupt fires, as a one-cycle irq pulse, in the first unmasked cycle
 * in which packets are pending and either rx_usecs is 0, the deadline has
 * been reached, or rx_frames packets have accumulated. While masked, packets
 * keep accumulating and the deadline keeps, so unmasking a block whose
 * condition already holds fires in that same cycle.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module intr_moderation #
(
    // Width of the nanosecond timestamp and of the deadline
    parameter TIME_W = 64,
    // Width of rx_usecs, rx_frames and the pending packet counter
    parameter CNT_W = 16
)
(
    input  wire              clk,
    input  wire              rst_n,

    input  wire [TIME_W-1:0] now_ns,
    // 0 = interrupt without delay
    input  wire [CNT_W-1:0]  rx_usecs,
    // 0 = no frame-count trigger
    input  wire [CNT_W-1:0]  rx_frames,
    // Packets whose descriptors were written back in this cycle
    input  wire [7:0]        pkt_done,
    // Driver wrote IMC; wins over mask_clr in the same cycle
    input  wire              mask_set,
    // Driver wrote IMS
    input  wire              mask_clr,

    output wire              irq,
    output wire              masked,
    output wire [CNT_W-1:0]  pending,
    output wire              timer_armed,
    output wire [TIME_W-1:0] deadline_ns
);

localparam [TIME_W-1:0] NS_PER_US = 1000;

// Check configuration while elaborating, so a bad instance fails the build
// rather than the first simulation cycle
generate
    if (TIME_W < 32) begin : g_time_w_too_narrow
        $error("Error: TIME_W must be at least 32 to hold a nanosecond timestamp");
    end

    if (CNT_W < 8) begin : g_cnt_w_too_narrow
        $error("Error: CNT_W must be at least 8, the width of pkt_done");
    end

    if (TIME_W < CNT_W + 10) begin : g_time_w_below_usecs_ns
        $error("Error: TIME_W must be at least CNT_W + 10 to hold rx_usecs in ns");
    end
endgenerate

reg              irq_reg = 1'b0, irq_next;
reg              masked_reg = 1'b0, masked_next;
reg [CNT_W-1:0]  pending_reg = {CNT_W{1'b0}}, pending_next;
reg              timer_armed_reg = 1'b0, timer_armed_next;
reg [TIME_W-1:0] deadline_ns_reg = {TIME_W{1'b0}}, deadline_ns_next;

// One extra bit catches the carry out, so the counter saturates instead of wrapping
reg [CNT_W:0]    pending_sum;
reg              deadline_reached;
reg              frames_reached;

// rx_usecs * 1000 needs 10 more bits than rx_usecs
wire [TIME_W-1:0] rx_usecs_ns = {{(TIME_W-CNT_W){1'b0}}, rx_usecs} * NS_PER_US;

assign irq = irq_reg;
assign masked = masked_reg;
assign pending = pending_reg;
assign timer_armed = timer_armed_reg;
assign deadline_ns = deadline_ns_reg;

always @* begin
    irq_next = 1'b0;
    masked_next = masked_reg;
    pending_next = pending_reg;
    timer_armed_next = timer_armed_reg;
    deadline_ns_next = deadline_ns_reg;

    if (mask_set) begin
        masked_next = 1'b1;
    end else if (mask_clr) begin
        masked_next = 1'b0;
    end

    pending_sum = {1'b0, pending_reg} + {{(CNT_W-7){1'b0}}, pkt_done};
    if (pending_sum[CNT_W]) begin
        pending_next = {CNT_W{1'b1}};
    end else begin
        pending_next = pending_sum[CNT_W-1:0];
    end

    // The first packet after an interrupt starts the rx-usecs window
    if (pending_reg == 0 && pkt_done != 0) begin
        timer_armed_next = 1'b1;
        deadline_ns_next = now_ns + rx_usecs_ns;
    end

    deadline_reached = timer_armed_next && now_ns >= deadline_ns_next;
    frames_reached = rx_frames != 0 && pending_next >= rx_frames;

    if (pending_next != 0 && !masked_next &&
            (rx_usecs == 0 || deadline_reached || frames_reached)) begin
        irq_next = 1'b1;
        pending_next = {CNT_W{1'b0}};
        timer_armed_next = 1'b0;
    end
end

always @(posedge clk) begin
    irq_reg <= irq_next;
    masked_reg <= masked_next;
    pending_reg <= pending_next;
    timer_armed_reg <= timer_armed_next;
    deadline_ns_reg <= deadline_ns_next;

    if (!rst_n) begin
        irq_reg <= 1'b0;
        masked_reg <= 1'b0;
        pending_reg <= {CNT_W{1'b0}};
        timer_armed_reg <= 1'b0;
        deadline_ns_reg <= {TIME_W{1'b0}};
    end
end

endmodule

`default_nettype wire
