/*
 * Interrupt moderation, in one of four modes picked by `mode`.
 *
 * Time is an input rather than a count of idle clocks: the block is clocked
 * only when something happens (a packet completes, the driver writes the
 * mask, or one of its timers runs out), and now_ns tells it when that
 * is. An idle block therefore costs no clock cycles at all.
 *
 * Mode 0, ethtool (rx-usecs / rx-frames): the first packet after an
 * interrupt arms the timer at now_ns + rx_usecs us. The interrupt fires, as a
 * one-cycle irq pulse, in the first unmasked cycle in which packets are
 * pending and either rx_usecs is 0, the deadline has been reached, or
 * rx_frames packets have accumulated. While masked, packets keep accumulating
 * and the deadline keeps, so unmasking a block whose condition already holds
 * fires in that same cycle.
 *
 * Mode 1, e1000 (8254x ITR / RDTR / RADV): every packet re-arms the packet
 * timer at now_ns + rdtr * 1.024 us; the first pending packet arms the
 * absolute timer at now_ns + radv * 1.024 us (radv 0: off). A timer that
 * expires, or any packet when rdtr is 0, latches the cause; the interrupt
 * then fires in the first unmasked cycle at least itr * 256 ns after the
 * previous interrupt (itr 0: no limit). A later packet does not withdraw a
 * latched cause, as ICR.RXT0 stays set on the real part.
 *
 * Mode 2, arm (MSI-X auto-mask with a rate limit): a pending packet fires the
 * interrupt if the vector is armed (unmasked) and at least min_interval_ns
 * has passed since the previous interrupt. Firing disarms the vector (sets
 * masked); the driver re-arms it with mask_clr.
 *
 * Mode 3, itr (82576 / 82599 EITR): min_interval_ns is a minimum gap between
 * interrupts, not a delay. A pending packet fires the interrupt in the first
 * unmasked cycle at least min_interval_ns after the previous interrupt, so a
 * lone packet after a quiet spell interrupts at once (0: no limit). Masking
 * is the driver's (or EIAM's) business, as in mode 0.
 *
 * cause_set latches a cause that is not a received packet (the transmit
 * write-back, ICR.TXDW), counted as one pending event: in e1000 mode it latches
 * the interrupt cause at once, so ITR throttles it like RXT0 (8254x ITR throttles
 * every cause); in the other modes it counts as a packet.
 *
 * Timer expiry is judged against the deadlines held before this cycle's
 * packets, so a deadline passed between two evaluations counts even when the
 * evaluation that notices it also brings packets. deadline_ns is the next time
 * the block needs evaluating, valid while timer_armed.
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
    // 0 = ethtool (timer from the first packet), 1 = e1000, 2 = arm, 3 = itr
    input  wire [1:0]        mode,
    // 0 = interrupt without delay
    input  wire [CNT_W-1:0]  rx_usecs,
    // 0 = no frame-count trigger
    input  wire [CNT_W-1:0]  rx_frames,
    // e1000: minimum gap between interrupts, 256 ns units; 0 = no limit
    input  wire [CNT_W-1:0]  itr,
    // e1000: packet timer, 1.024 us units; 0 = interrupt per packet
    input  wire [CNT_W-1:0]  rdtr,
    // e1000: absolute timer from the first pending packet, 1.024 us units; 0 = off
    input  wire [CNT_W-1:0]  radv,
    // arm and itr: minimum gap between interrupts
    input  wire [31:0]       min_interval_ns,
    // Packets whose descriptors were written back in this cycle
    input  wire [7:0]        pkt_done,
    // A cause other than a received packet (transmit write-back)
    input  wire              cause_set,
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
localparam [TIME_W-1:0] NS_PER_ITR_UNIT = 256;
localparam [TIME_W-1:0] NS_PER_TIMER_UNIT = 1024;

localparam [1:0] MODE_E1000 = 2'd1;
localparam [1:0] MODE_ARM = 2'd2;
localparam [1:0] MODE_ITR = 2'd3;

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
        $error("Error: TIME_W must be at least CNT_W + 10 to hold rx_usecs, rdtr and radv in ns");
    end
endgenerate

reg              irq_reg = 1'b0, irq_next;
reg              masked_reg = 1'b0, masked_next;
reg [CNT_W-1:0]  pending_reg = {CNT_W{1'b0}}, pending_next;
reg              timer_armed_reg = 1'b0, timer_armed_next;
reg [TIME_W-1:0] deadline_ns_reg = {TIME_W{1'b0}}, deadline_ns_next;

// e1000 and arm state
reg              cause_reg = 1'b0, cause_next;
reg [TIME_W-1:0] rdtr_deadline_reg = {TIME_W{1'b0}}, rdtr_deadline_next;
reg              radv_armed_reg = 1'b0, radv_armed_next;
reg [TIME_W-1:0] radv_deadline_reg = {TIME_W{1'b0}}, radv_deadline_next;
reg              irq_seen_reg = 1'b0, irq_seen_next;
reg [TIME_W-1:0] last_irq_ns_reg = {TIME_W{1'b0}}, last_irq_ns_next;

// One extra bit catches the carry out, so the counter saturates instead of wrapping
reg [CNT_W:0]    pending_sum;
reg              deadline_reached;
reg              frames_reached;
reg [TIME_W-1:0] gap_end_ns;
reg              gap_over;
reg [TIME_W-1:0] min_interval_wide;

// rx_usecs * 1000 needs 10 more bits than rx_usecs
wire [TIME_W-1:0] rx_usecs_ns = {{(TIME_W-CNT_W){1'b0}}, rx_usecs} * NS_PER_US;
wire [TIME_W-1:0] itr_ns = {{(TIME_W-CNT_W){1'b0}}, itr} * NS_PER_ITR_UNIT;
wire [TIME_W-1:0] rdtr_ns = {{(TIME_W-CNT_W){1'b0}}, rdtr} * NS_PER_TIMER_UNIT;
wire [TIME_W-1:0] radv_ns = {{(TIME_W-CNT_W){1'b0}}, radv} * NS_PER_TIMER_UNIT;

// Zero-extended by assignment, which stays legal when TIME_W is exactly 32
always @* begin
    min_interval_wide = {TIME_W{1'b0}};
    min_interval_wide[31:0] = min_interval_ns;
end

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

    pending_sum = {1'b0, pending_reg} + {{(CNT_W-7){1'b0}}, pkt_done} + {{CNT_W{1'b0}}, cause_set};
    if (pending_sum[CNT_W]) begin
        pending_next = {CNT_W{1'b1}};
    end else begin
        pending_next = pending_sum[CNT_W-1:0];
    end

    cause_next = cause_reg;
    rdtr_deadline_next = rdtr_deadline_reg;
    radv_armed_next = radv_armed_reg;
    radv_deadline_next = radv_deadline_reg;
    irq_seen_next = irq_seen_reg;
    last_irq_ns_next = last_irq_ns_reg;
    deadline_reached = 1'b0;
    frames_reached = 1'b0;
    gap_end_ns = {TIME_W{1'b0}};
    gap_over = 1'b1;

    case (mode)
        MODE_E1000: begin
            // Timers that ran out since the last evaluation, before this cycle's packets re-arm them
            if (pending_reg != 0 && (now_ns >= rdtr_deadline_reg ||
                    (radv_armed_reg && now_ns >= radv_deadline_reg))) begin
                cause_next = 1'b1;
            end

            if (cause_set) begin
                cause_next = 1'b1;
            end

            if (pkt_done != 0) begin
                rdtr_deadline_next = now_ns + rdtr_ns;
                if (rdtr == 0) begin
                    cause_next = 1'b1;
                end
                if (pending_reg == 0) begin
                    radv_armed_next = radv != 0;
                    radv_deadline_next = now_ns + radv_ns;
                end
            end

            gap_end_ns = last_irq_ns_reg + itr_ns;
            gap_over = itr == 0 || !irq_seen_reg || now_ns >= gap_end_ns;

            if (cause_next && pending_next != 0 && !masked_next && gap_over) begin
                irq_next = 1'b1;
                pending_next = {CNT_W{1'b0}};
                cause_next = 1'b0;
                radv_armed_next = 1'b0;
            end

            timer_armed_next = pending_next != 0;
            if (cause_next) begin
                deadline_ns_next = gap_end_ns;
            end else if (radv_armed_next && radv_deadline_next < rdtr_deadline_next) begin
                deadline_ns_next = radv_deadline_next;
            end else begin
                deadline_ns_next = rdtr_deadline_next;
            end
        end

        MODE_ARM: begin
            gap_end_ns = last_irq_ns_reg + min_interval_wide;
            gap_over = !irq_seen_reg || now_ns >= gap_end_ns;

            if (pending_next != 0 && !masked_next && gap_over) begin
                irq_next = 1'b1;
                pending_next = {CNT_W{1'b0}};
                masked_next = 1'b1;
            end

            // A masked vector waits for mask_clr, not for time
            timer_armed_next = pending_next != 0 && !masked_next && !gap_over;
            deadline_ns_next = gap_end_ns;
        end

        MODE_ITR: begin
            gap_end_ns = last_irq_ns_reg + min_interval_wide;
            gap_over = !irq_seen_reg || now_ns >= gap_end_ns;

            if (pending_next != 0 && !masked_next && gap_over) begin
                irq_next = 1'b1;
                pending_next = {CNT_W{1'b0}};
            end

            // Waiting out the gap; a masked block waits for mask_clr instead
            timer_armed_next = pending_next != 0 && !gap_over;
            deadline_ns_next = gap_end_ns;
        end

        default: begin
            // The first packet after an interrupt starts the rx-usecs window
            if (pending_reg == 0 && (pkt_done != 0 || cause_set)) begin
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
    endcase

    if (irq_next) begin
        irq_seen_next = 1'b1;
        last_irq_ns_next = now_ns;
    end
end

always @(posedge clk) begin
    irq_reg <= irq_next;
    masked_reg <= masked_next;
    pending_reg <= pending_next;
    timer_armed_reg <= timer_armed_next;
    deadline_ns_reg <= deadline_ns_next;
    cause_reg <= cause_next;
    rdtr_deadline_reg <= rdtr_deadline_next;
    radv_armed_reg <= radv_armed_next;
    radv_deadline_reg <= radv_deadline_next;
    irq_seen_reg <= irq_seen_next;
    last_irq_ns_reg <= last_irq_ns_next;

    if (!rst_n) begin
        irq_reg <= 1'b0;
        masked_reg <= 1'b0;
        pending_reg <= {CNT_W{1'b0}};
        timer_armed_reg <= 1'b0;
        deadline_ns_reg <= {TIME_W{1'b0}};
        cause_reg <= 1'b0;
        rdtr_deadline_reg <= {TIME_W{1'b0}};
        radv_armed_reg <= 1'b0;
        radv_deadline_reg <= {TIME_W{1'b0}};
        irq_seen_reg <= 1'b0;
        last_irq_ns_reg <= {TIME_W{1'b0}};
    end
end

endmodule

`default_nettype wire
