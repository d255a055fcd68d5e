// An int8 tensor-core MMA unit: D (16 x 8, int32) = A (16 x K) * B (K x 8) + C, K = 16 or 32.
//
// The datapath is a dot-product tree of R multipliers, in G = R / 16 groups of 16: each group
// multiplies 16 (A, B) element pairs and sums them into one 16-long dot product. An op of
// n = 128 K multiply-accumulates takes ii = ceil(n / R) cycles of the tree; the unit reads one
// chunk of its operands per cycle, so a new op is taken every ii cycles, and its result leaves a
// fixed L cycles after it was taken.
//
// Cycle t is the clock period that ends with rising edge t. The input port fires in cycle t when
// in_valid and in_ready are both high then.
//
// Ports
//   in_valid/ready  offers an op: k32 (0: m16n8k16, 1: m16n8k32), the signedness of A and B
//                   (1: s8, 0: u8) and the operands. in_ready is high while the tree is free
//                   (a register: it does not depend on in_valid). The driver holds every
//                   operand input stable from the cycle the op fires to the cycle op_read is
//                   high: those are the cycles the unit reads them (the register-file reads).
//   a_data          byte 32 i + k: A[i][k] (i < 16, k < K; with K = 16 bytes 16..31 of a row
//                   are not read).
//   b_data          byte 32 j + k: B[k][j] (j < 8, k < K): column j of B is 32 bytes.
//   c_data          word 8 i + j: C[i][j] (int32).
//   op_read         high in the cycle the unit reads the op's last chunk: its operands may change
//                   from the next cycle, and the next op may fire from the next cycle.
//   out_valid       high in cycle (fire) + L - 1, with out_data: word 8 i + j = D[i][j].
//
// Schedule. Output o = 8 i + j (row i, column j) of an op; chunk s (cycle fire + s) computes
// outputs [s P, s P + P) with P = G for K = 16 (group g: output s G + g, all of k) and P = G / 2
// for K = 32 (groups 2 l and 2 l + 1: output s P + l, k 0..15 and 16..31). Outputs past 127 in
// the last chunk are masked. So ii = ceil(128 / P) = ceil(128 K / R).
//
// Pipeline (registers after the chunk's read in cycle t = fire + s):
//   edge t      S1: R products (9-bit s8/u8 operands, 18-bit exact products), the chunk's C
//   edge t + 1  S2: sums of 4 products
//   edge t + 2  S3: the G 16-long dot products
//   edge t + 3  S4: K = 32: pairs of groups added; then + C, wrapping to 32 bits (PTX's mma
//               without .satfinite)
//   edge t + 4  the results written into the op's slot of the result buffer
// The last chunk (s = ii - 1) is in the buffer from cycle fire + ii + DEPTH - 1 (DEPTH = 5), which
// must be no later than the out_valid cycle fire + L - 1: L >= ceil(4096 / R) + DEPTH, checked at
// elaboration. A delay line of L - 1 registers carries (fire, slot) to out_valid, so done (the
// cycle after out_valid) is fire + L = fire + max(L, ii) for every op. The result buffer holds
// NSLOT = ceil(L / ii(K = 16)) ops: an op's slot is not written again before its out_valid cycle.
module tensor_core #(
    parameter R = 512,  // multiply-accumulates per cycle: a multiple of 32, 32..4096
    parameter L = 32    // cycles from an op's fire to its done
) (
    input wire clk,
    input wire rst,

    input  wire          in_valid,
    output wire          in_ready,
    input  wire          k32,
    input  wire          a_signed,
    input  wire          b_signed,
    input  wire [4095:0] a_data,
    input  wire [2047:0] b_data,
    input  wire [4095:0] c_data,

    output wire          op_read,
    output wire          out_valid,
    output wire [4095:0] out_data
);
  localparam integer G = R / 16;  // groups of 16 multipliers: 16-long dot products per cycle
  localparam integer II16 = (2048 + R - 1) / R;  // cycles of an m16n8k16 op
  localparam integer II32 = (4096 + R - 1) / R;  // of an m16n8k32 op
  localparam integer DEPTH = 5;  // cycles from a chunk's read to its results in the buffer
  localparam integer NSLOT = (L + II16 - 1) / II16;
  localparam integer SW = NSLOT > 1 ? $clog2(NSLOT) : 1;
  localparam integer LAST16_I = II16 - 1, LAST32_I = II32 - 1, P32_I = G / 2, SLOT_I = NSLOT - 1;
  localparam [7:0] LAST16 = LAST16_I[7:0];
  localparam [7:0] LAST32 = LAST32_I[7:0];
  localparam [8:0] P16 = G[8:0];
  localparam [8:0] P32 = P32_I[8:0];
  localparam [SW-1:0] LAST_SLOT = SLOT_I[SW-1:0];

  generate
    if (R % 32 != 0 || R < 32 || R > 4096) begin : g_bad_r
      $fatal(1, "tensor_core: R must be a multiple of 32 from 32 to 4096");
    end
    if (L < II32 + DEPTH) begin : g_bad_l
      $fatal(1, "tensor_core: L must be at least ceil(4096 / R) + 5");
    end
  endgenerate

  // ---- control: the chunk counter and the result slots ----
  reg          running;  // an op's chunks after its first are being read
  reg [   7:0] chunk;  // while running: the chunk read this cycle
  reg [SW-1:0] slot_next;  // the slot of the next op to fire
  reg [SW-1:0] slot_cur;  // while running: the op's slot

  assign in_ready = ~running;
  wire          fire = in_valid & ~running;
  wire          active = fire | running;
  wire [   7:0] cur = running ? chunk : 8'd0;
  wire          last = cur == (k32 ? LAST32 : LAST16);
  wire [SW-1:0] slot = running ? slot_cur : slot_next;
  wire [   8:0] per = k32 ? P32 : P16;  // outputs per chunk
  /* verilator lint_off UNUSEDSIGNAL */
  wire [  15:0] base_w = {8'd0, cur} * {7'd0, per};
  /* verilator lint_on UNUSEDSIGNAL */
  wire [   7:0] base = base_w[7:0];  // the chunk's first output (< 128)
  assign op_read = active & last;

  always @(posedge clk) begin
    if (rst) begin
      running   <= 1'b0;
      chunk     <= 8'd0;
      slot_next <= {SW{1'b0}};
      slot_cur  <= {SW{1'b0}};
    end else begin
      if (active) begin
        running <= ~last;
        chunk   <= last ? 8'd0 : cur + 8'd1;
      end
      if (fire) begin
        slot_cur  <= slot_next;
        slot_next <= slot_next == LAST_SLOT ? {SW{1'b0}} : slot_next + 1'b1;
      end
    end
  end

  // ---- the groups: each one's output and k half, its 16-byte operands, its dot product ----
  // A row i, k half h is the 16-byte block 2 i + h of a_data; B column j, half h block 2 j + h.
  wire signed [21:0] dot[0:G-1];

  genvar g;
  generate
    for (g = 0; g < G; g = g + 1) begin : g_grp
      localparam [8:0] LANE16 = g;
      localparam [8:0] LANE32 = g / 2;
      /* verilator lint_off UNUSEDSIGNAL */  // o[8:7]: past the last output, the lane is masked
      wire [8:0] o = {1'b0, base} + (k32 ? LANE32 : LANE16);  // the group's output
      /* verilator lint_on UNUSEDSIGNAL */
      wire h = k32 & (g % 2 == 1);
      wire [4:0] ablk = {o[6:3], h};
      wire [3:0] bblk = {o[2:0], h};
      tensor_dot16 grp (
          .clk     (clk),
          .a_signed(a_signed),
          .b_signed(b_signed),
          .a       (a_data[128*ablk+:128]),
          .b       (b_data[128*bblk+:128]),
          .dot     (dot[g])
      );
    end
  endgenerate

  // ---- the chunk's lanes along the stages: lane l is output base + l, with its C ----
  wire [  G-1:0] lane_ok;
  wire [32*G-1:0] c_lane;
  generate
    for (g = 0; g < G; g = g + 1) begin : g_lane
      localparam [8:0] LANE = g;
      wire [8:0] o = {1'b0, base} + LANE;
      assign lane_ok[g] = active & (LANE < per) & (o < 9'd128);
      assign c_lane[32*g+:32] = c_data[32*o[6:0]+:32];
    end
  endgenerate

  // S1 to S3 (the groups' stages): each lane's C and valid flag, the chunk's shape, first output
  // and slot.
  reg [  G-1:0] ok1, ok2, ok3, ok4;
  reg [32*G-1:0] c1, c2, c3, d4;
  reg k1, k2, k3;
  reg [7:0] base1, base2, base3, base4;
  reg [SW-1:0] slot1, slot2, slot3, slot4;

  // S4: a K = 32 output is the sum of groups 2 l and 2 l + 1, a K = 16 output one group; then
  // + C, modulo 2^32.
  wire [32*G-1:0] d_lane;
  generate
    for (g = 0; g < G; g = g + 1) begin : g_s4
      wire signed [22:0] one = {dot[g][21], dot[g]};
      wire signed [22:0] sum;
      if (g < G / 2) begin : g_pair
        wire signed [22:0] pair = {dot[2*g][21], dot[2*g]} + {dot[2*g+1][21], dot[2*g+1]};
        assign sum = k3 ? pair : one;
      end else begin : g_one
        assign sum = one;
      end
      assign d_lane[32*g+:32] = c3[32*g+:32] + {{9{sum[22]}}, sum};
    end
  endgenerate

  always @(posedge clk) begin
    if (rst) begin
      ok1 <= {G{1'b0}};
      ok2 <= {G{1'b0}};
      ok3 <= {G{1'b0}};
      ok4 <= {G{1'b0}};
    end else begin
      ok1 <= lane_ok;
      ok2 <= ok1;
      ok3 <= ok2;
      ok4 <= ok3;
    end
    c1 <= c_lane;
    c2 <= c1;
    c3 <= c2;
    d4 <= d_lane;
    k1 <= k32;
    k2 <= k1;
    k3 <= k2;
    base1 <= base;
    base2 <= base1;
    base3 <= base2;
    base4 <= base3;
    slot1 <= slot;
    slot2 <= slot1;
    slot3 <= slot2;
    slot4 <= slot3;
  end

  // ---- done: (fire, slot) delayed to cycle fire + L - 1, selecting the slot read out ----
  // L - 1 stages of SW + 1 bits, the newest in the low bits (L >= 6, checked above).
  localparam integer DW = (SW + 1) * (L - 1);
  reg [DW-1:0] dline;
  always @(posedge clk) dline <= rst ? {DW{1'b0}} : {dline[DW-SW-2:0], fire, slot_next};
  wire [SW-1:0] out_slot = dline[DW-2:DW-SW-1];
  assign out_valid = dline[DW-1];

  // ---- the result buffer: word w of each of the NSLOT ops, written by lane w - base4 ----
  generate
    for (g = 0; g < 128; g = g + 1) begin : g_word
      localparam [8:0] W = g;
      wire [8:0] lane = W - {1'b0, base4};
      /* verilator lint_off UNUSEDSIGNAL */
      wire [G-1:0] oks = ok4 >> lane;  // oks[0]: lane's flag (0 past the last lane)
      /* verilator lint_on UNUSEDSIGNAL */
      wire hit = ~lane[8] & oks[0];
      reg [31:0] mem[0:NSLOT-1];
      always @(posedge clk) if (hit) mem[slot4] <= d4[32*lane[7:0]+:32];
      assign out_data[32*g+:32] = mem[out_slot];
    end
  endgenerate
endmodule
