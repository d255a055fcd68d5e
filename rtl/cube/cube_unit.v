// A DaVinci cube unit: one mad (C (M x N) = A (M x K) x B (K x N) + C, or without C with
// init) per operation, on fractals, one fractal step per cycle; s8 operands, s32 accumulation.
//
// The fractal is F x K0 for A, K0 x F for B and F x F for C (the DaVinci cube's s8 fractal is
// 16 x 32: F = 16, K0 = 32). A mad of m x k x n fractals (M = F m, K = K0 k, N = F n) takes
// m n k steps: step (mi, ni, ki) multiplies A's fractal (mi, ki) by B's fractal (ki, ni) on the
// F x F array of K0-long dot products (cube_array) and adds the result to output fractal
// (mi, ni). The loop runs ki innermost, then mi, then ni:
//   for ni < n: for mi < m: for ki < k: step
// so output fractals finish one after another in L0C's NZ order (fractal ni m + mi), each after
// its k steps, and one accumulator fractal is enough.
//
// Cycle t is the clock period that ends with rising edge t. The op port fires in cycle t when
// in_valid and in_ready are both high then.
//
// Ports
//   in_valid/ready  offers a mad: m_frac, k_frac, n_frac (m, k, n: 1..255) and init (1: C is
//                   not read, the mad starts from zero). in_ready is high while the fractal loop
//                   is idle (a register: it does not depend on in_valid). They are read in the
//                   cycle the port fires only.
//   a_ren, a_raddr  in each step's cycle: the A fractal it reads, mi k + ki (L0A's zZ order,
//   a_rdata         from the mad's first A fractal). The memory is synchronous: a_rdata holds
//                   the fractal in the next cycle (byte i K0 + c: A(F mi + i, K0 ki + c)).
//   b_ren, b_raddr  likewise the B fractal, ki n + ni (L0B's zN order); b_rdata byte j K0 + r:
//   b_rdata         B(K0 ki + r, F ni + j).
//   op_read         high in the cycle of the mad's last step: its A and B fractals are all read
//                   from the next cycle (L0A and L0B may be overwritten), and the next mad may
//                   fire from the next cycle.
//   c_ren, c_raddr  C's read for an output fractal (not with init), ni m + mi (NZ order), in
//   c_rdata         the cycle before its write; c_rdata holds the fractal in the next cycle
//                   (word i F + j: C(F mi + i, F ni + j)).
//   c_we, c_waddr   the output fractal written: c_wdata = C + sum over k of A x B, wrapping to
//   c_wdata         32 bits (0 instead of C with init); word i F + j as c_rdata.
//   c_last          with c_we: the mad's last output fractal. The mad is done the next cycle.
//
// C is read and written back (read-modify-write) at the end of the pipeline, not at the mad's
// first step, so that a mad accumulating into the fractals an earlier mad is still computing
// reads what that one writes, provided the memory forwards a write to a read of the same
// address in the same cycle (write-first).
//
// Pipeline, for the step of cycle t (control stages 1..L carry: valid, first k step, last k
// step, init, the mad's last step, the output fractal's address):
//   cycle t          the step: A and B fractal addresses out
//   cycle t + 1      a_rdata, b_rdata: the array's F x F dot products (combinational)
//   edges t+1..t+L-2 the dot products through L - 2 registers (the adder tree's stages)
//   cycle t + L - 1  accumulate: acc = (first k step ? 0 : acc) + dot, at edge t + L - 1; on
//                    the last k step, C's read address out
//   cycle t + L      on the last k step, the write: C + acc
// The mad's last step is in cycle start + m n k - 1, so its last write is in cycle
// start + m n k - 1 + L and it is done at start + m n k + L: with the next mad taken from
// start + m n k, exactly the formula of models/npu_davinci/cube_unit.h with latency L.
module cube_unit #(
    parameter F  = 16,  // fractal rows and columns
    parameter K0 = 32,  // fractal depth (s8 elements)
    parameter L  = 16   // cycles from a mad's last step to its done: at least 2
) (
    input wire clk,
    input wire rst,

    input  wire       in_valid,
    output wire       in_ready,
    input  wire [7:0] m_frac,
    input  wire [7:0] k_frac,
    input  wire [7:0] n_frac,
    input  wire       init,

    output wire              a_ren,
    output wire [      15:0] a_raddr,
    input  wire [8*F*K0-1:0] a_rdata,
    output wire              b_ren,
    output wire [      15:0] b_raddr,
    input  wire [8*F*K0-1:0] b_rdata,
    output wire              op_read,

    output wire              c_ren,
    output wire [      15:0] c_raddr,
    input  wire [32*F*F-1:0] c_rdata,
    output wire              c_we,
    output wire [      15:0] c_waddr,
    output wire [32*F*F-1:0] c_wdata,
    output wire              c_last
);
  localparam integer DW = 32 * F * F;  // a fractal of s32
  localparam integer CW = 21;  // a step's control: 5 flags and the C fractal's address

  generate
    if (L < 2) begin : g_bad_l
      $fatal(1, "cube_unit: L must be at least 2");
    end
    if (F < 2 || K0 < 2) begin : g_bad_f
      $fatal(1, "cube_unit: F and K0 must be at least 2");
    end
  endgenerate

  // ---- the fractal loop ----
  reg        running;  // a mad's steps after its first are under way
  reg [ 7:0] mf, kf, nf;  // the mad's size, latched when it fires
  reg        init_r;
  reg [ 7:0] mi, ki, ni;  // while running: the step of this cycle
  reg [15:0] a_at, b_at, c_at;  // while running: its fractals' addresses

  assign in_ready = ~running;
  wire        fire = in_valid & ~running;
  wire        active = fire | running;
  wire [ 7:0] m_n = running ? mf : m_frac;
  wire [ 7:0] k_n = running ? kf : k_frac;
  wire [ 7:0] n_n = running ? nf : n_frac;
  wire        ini = running ? init_r : init;
  wire [ 7:0] m_i = running ? mi : 8'd0;
  wire [ 7:0] k_i = running ? ki : 8'd0;
  wire [ 7:0] n_i = running ? ni : 8'd0;
  wire [15:0] a_i = running ? a_at : 16'd0;
  wire [15:0] b_i = running ? b_at : 16'd0;
  wire [15:0] c_i = running ? c_at : 16'd0;
  wire        last_k = k_i == k_n - 8'd1;
  wire        last_m = m_i == m_n - 8'd1;
  wire        last_n = n_i == n_n - 8'd1;
  wire        last_mk = last_k & last_m;
  wire        last = last_mk & last_n;

  assign a_ren   = active;
  assign a_raddr = a_i;
  assign b_ren   = active;
  assign b_raddr = b_i;
  assign op_read = active & last;

  // Next step: ki + 1; after the last ki, mi + 1 (A's next fractal is the next address); after
  // the last mi, ni + 1 (A from its first fractal again). B moves by n along k and to column
  // ni (+ 1) after the last ki; C by one per output fractal.
  always @(posedge clk) begin
    if (rst) begin
      running <= 1'b0;
      mf      <= 8'd0;
      kf      <= 8'd0;
      nf      <= 8'd0;
      init_r  <= 1'b0;
      mi      <= 8'd0;
      ki      <= 8'd0;
      ni      <= 8'd0;
      a_at    <= 16'd0;
      b_at    <= 16'd0;
      c_at    <= 16'd0;
    end else if (active) begin
      running <= ~last;
      mf      <= m_n;
      kf      <= k_n;
      nf      <= n_n;
      init_r  <= ini;
      ki      <= last_k ? 8'd0 : k_i + 8'd1;
      mi      <= last_k ? (last_m ? 8'd0 : m_i + 8'd1) : m_i;
      ni      <= last_mk ? n_i + 8'd1 : n_i;
      a_at    <= last_mk ? 16'd0 : a_i + 16'd1;
      b_at    <= last_k ? {8'd0, last_m ? n_i + 8'd1 : n_i} : b_i + {8'd0, n_n};
      c_at    <= last_k ? c_i + 16'd1 : c_i;
    end
  end

  // ---- control along the pipeline: stage s (1..L) holds the step of cycle t - s ----
  wire [CW-1:0] ctl0 = {active, k_i == 8'd0, last_k, ini, last, c_i};
  reg [CW*L-1:0] cline;
  always @(posedge clk) cline <= rst ? {CW * L{1'b0}} : {cline[CW*(L-1)-1:0], ctl0};

  /* verilator lint_off UNUSEDSIGNAL */  // each stage uses some of the flags
  wire [CW-1:0] ctl_acc = cline[CW*(L-2)+:CW];  // stage L - 1: accumulate
  wire [CW-1:0] ctl_wb = cline[CW*(L-1)+:CW];  // stage L: write back
  /* verilator lint_on UNUSEDSIGNAL */
  wire acc_valid = ctl_acc[20], acc_first = ctl_acc[19], acc_lastk = ctl_acc[18];
  wire acc_init = ctl_acc[17];
  wire wb_valid = ctl_wb[20], wb_lastk = ctl_wb[18], wb_init = ctl_wb[17], wb_last = ctl_wb[16];

  // ---- the array and the adder tree's stages ----
  wire [DW-1:0] dot;  // the dot products of the step of cycle t - 1
  cube_array #(
      .F (F),
      .K0(K0)
  ) array (
      .a  (a_rdata),
      .b  (b_rdata),
      .dot(dot)
  );

  wire [DW-1:0] acc_dot;  // the dot products of the step in the accumulate stage
  generate
    if (L == 2) begin : g_direct
      assign acc_dot = dot;
    end else begin : g_tree
      reg [DW-1:0] tree[0:L-3];
      integer s;
      always @(posedge clk) begin
        tree[0] <= dot;
        for (s = 1; s < L - 2; s = s + 1) tree[s] <= tree[s-1];
      end
      assign acc_dot = tree[L-3];
    end
  endgenerate

  // ---- accumulate, then read C and write back (lane l: word l of the fractals) ----
  reg [DW-1:0] acc, acc_next, wdata;
  integer l;
  always @* begin
    for (l = 0; l < F * F; l = l + 1) begin
      acc_next[32*l+:32] = (acc_first ? 32'd0 : acc[32*l+:32]) + acc_dot[32*l+:32];
      wdata[32*l+:32]    = (wb_init ? 32'd0 : c_rdata[32*l+:32]) + acc[32*l+:32];
    end
  end
  always @(posedge clk) if (acc_valid) acc <= acc_next;

  assign c_wdata = wdata;
  assign c_ren   = acc_valid & acc_lastk & ~acc_init;
  assign c_raddr = ctl_acc[15:0];
  assign c_we    = wb_valid & wb_lastk;
  assign c_waddr = ctl_wb[15:0];
  assign c_last  = wb_valid & wb_last;
endmodule
