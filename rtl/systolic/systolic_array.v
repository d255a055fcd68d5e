// Systolic array of ROWS x COLS int8 MAC PEs (int32 sums), ws or os chosen at run time by `mode`.
//
// Cycle t is the clock period that ends with rising edge t. A port "fires" in cycle t when its
// valid and ready are both high then. Ready signals are combinational from the state and the
// valids, so a driver sets its valids, evaluates, then reads ready.
//
// Ports
//   mode            0 = weight-stationary (ws), 1 = output-stationary (os); change only when idle.
//                   Input-stationary is ws with the operands' roles swapped by the driver:
//                   stationary A^T (k x m), streamed B^T (n rows of k), results C^T.
//   w_valid/ready   w_data: COLS int8, element c in bits [8c+7:8c].
//                   ws: one row of the next stationary tile per cycle, rows 0..ROWS-1 (a tile
//                   always loads ROWS rows; pad with zeros). Ready while the shadow registers are
//                   free: from the cycle the current tile's first operand fires (not before) until
//                   the load's last row. Row r, column c is written into PE (r, c)'s shadow
//                   register at the edge ending cycle (fire of row r) + c.
//                   os: row k of B, fired together with the operand port (both or neither).
//   a_valid/ready   a_data: ROWS int8, element r for array row r. a_first / a_last mark a tile's
//                   first and last operand (both on a one-operand tile); a_len is the tile's stream
//                   length, read with a_first (os uses it, ws ignores it); a_keep, read with
//                   a_first (ws only): the tile streams against the weights the PEs hold from the
//                   tile before, with no load of its own (the shadow is neither needed nor taken).
//                   ws: row m of A (A[m][r] for array row r; pad k..ROWS-1 with zeros). A tile's
//                   first operand waits for its full load (a kept tile's does not); the rest of
//                   the tile is never stalled.
//                   os: column k of A (A[r][k]). A tile's first operand waits until its last
//                   operand will fire at least ROWS cycles after the previous tile's last one
//                   (a_len >= drain): each tile's ROWS result rows need ROWS cycles of the output
//                   port.
//   out_valid       out_data: one row of COLS int32 results, column c in bits [32c+31:32c],
//                   de-skewed; out_last marks a tile's last row. No back-pressure.
//                   ws: row m of C leaves in cycle (fire of A row m) + ROWS + COLS - 2.
//                   os: ROWS rows; row i leaves in cycle (fire of the last operand) + i + COLS - 1.
//
// Timing (what models/tpu/array_timing.cpp states): operands enter PE (r, c) r + c cycles after
// they fire, row r skewed by r cycles on the left and column c by c on the top; the bottom row's
// sums (ws) or a column's read-out bus (os) leave through a de-skew of COLS - 1 - c cycles, so the
// last result of a stream leaves ROWS + COLS - 2 cycles after its last operand fires.
module systolic_array #(
    parameter ROWS = 4,
    parameter COLS = 4
) (
    input wire clk,
    input wire rst,
    input wire mode,

    input  wire              w_valid,
    output wire              w_ready,
    input  wire [COLS*8-1:0] w_data,

    input  wire              a_valid,
    output wire              a_ready,
    input  wire              a_first,
    input  wire              a_last,
    input  wire              a_keep,
    input  wire [      15:0] a_len,
    input  wire [ROWS*8-1:0] a_data,

    output wire               out_valid,
    output wire               out_last,
    output wire [COLS*32-1:0] out_data
);
  localparam RW = (ROWS > 1) ? $clog2(ROWS) : 1;
  localparam integer LAST = ROWS - 1;
  localparam [RW-1:0] LAST_ROW = LAST[RW-1:0];
  localparam [15:0] DRAIN = ROWS[15:0];

  // ---- control ----
  reg          shadow_full;  // ws: a complete tile waits in the shadow registers
  reg          in_stream;  // between a tile's first and last operand
  reg [RW-1:0] load_row;  // ws: next row of the load
  reg [  15:0] drain;  // os: cycles the output port still needs for the previous tile

  wire keep = a_keep & ~mode;  // ws: a kept tile takes no shadow
  wire first_ok = mode ? (a_len >= drain) : (shadow_full | keep);
  wire core_ok = in_stream | first_ok;
  assign a_ready = core_ok & (~mode | w_valid);
  assign w_ready = mode ? (a_valid & core_ok) :
                          (~shadow_full | (a_valid & a_first & ~keep & ~in_stream));
  wire a_fire = a_valid & a_ready;
  wire take = a_fire & a_first & ~keep;  // the PEs take the shadow as their weights
  wire w_fire = w_valid & w_ready;
  wire load_fire = w_fire & ~mode;
  wire load_done = load_fire & (load_row == LAST_ROW);

  always @(posedge clk) begin
    if (rst) begin
      shadow_full <= 1'b0;
      in_stream <= 1'b0;
      load_row <= {RW{1'b0}};
      drain <= 16'd0;
    end else begin
      if (take & ~mode) shadow_full <= 1'b0;
      if (load_done) shadow_full <= 1'b1;
      if (load_fire) load_row <= load_done ? {RW{1'b0}} : load_row + 1'b1;
      if (a_fire) in_stream <= ~a_last;
      if (a_fire & a_last & mode) drain <= DRAIN;
      else if (drain != 16'd0) drain <= drain - 16'd1;
    end
  end

  // ---- the grid: h_* run left to right (COLS + 1 columns), v down (ROWS + 1 rows) ----
  /* verilator lint_off UNUSEDSIGNAL */
  wire              h_valid[0:ROWS-1][0:COLS];
  wire              h_first[0:ROWS-1][0:COLS];
  wire              h_last [0:ROWS-1][0:COLS];
  wire signed [7:0] h_a    [0:ROWS-1][0:COLS];
  wire signed [31:0] v     [0:ROWS][0:COLS-1];
  /* verilator lint_on UNUSEDSIGNAL */
  wire signed [31:0] mac   [0:ROWS-1][0:COLS-1];
  wire               sel   [0:ROWS-1][0:COLS-1];
  wire signed [31:0] bus   [0:COLS-1];  // os: a column's read-out bus (one-hot over its rows)
  wire               bus_v [0:COLS-1];

  genvar r, c;
  generate
    // Left edge: row r's operand and flags, skewed by r cycles.
    for (r = 0; r < ROWS; r = r + 1) begin : g_left
      wire [10:0] q;
      systolic_delay #(
          .W(11),
          .D(r)
      ) skew (
          .clk(clk),
          .rst(rst),
          .d  ({a_fire, take, a_fire & a_last, a_data[8*r+:8]}),
          .q  (q)
      );
      assign h_valid[r][0] = q[10];
      assign h_first[r][0] = q[9];
      assign h_last[r][0]  = q[8];
      assign h_a[r][0]     = q[7:0];
    end

    // Top edge: column c's weight-bus write (ws) or B operand (os), skewed by c cycles.
    for (c = 0; c < COLS; c = c + 1) begin : g_top
      wire [RW+8:0] q;
      systolic_delay #(
          .W(RW + 9),
          .D(c)
      ) skew (
          .clk(clk),
          .rst(rst),
          .d  ({load_fire, load_row, w_data[8*c+:8]}),
          .q  (q)
      );
      wire          we = q[RW+8];
      wire [RW-1:0] wrow = q[RW+7:8];
      wire    [7:0] wdata = q[7:0];
      assign v[0][c] = mode ? {{24{wdata[7]}}, wdata} : 32'sd0;

      for (r = 0; r < ROWS; r = r + 1) begin : g_pe
        localparam [RW-1:0] ROW = r;
        systolic_pe pe (
            .clk      (clk),
            .rst      (rst),
            .mode     (mode),
            .in_valid (h_valid[r][c]),
            .in_first (h_first[r][c]),
            .in_last  (h_last[r][c]),
            .in_a     (h_a[r][c]),
            .out_valid(h_valid[r][c+1]),
            .out_first(h_first[r][c+1]),
            .out_last (h_last[r][c+1]),
            .out_a    (h_a[r][c+1]),
            .in_v     (v[r][c]),
            .out_v    (v[r+1][c]),
            .w_we     (we && wrow == ROW),
            .w_data   (wdata),
            .mac      (mac[r][c]),
            .sel      (sel[r][c])
        );
      end

      // os read-out: at most one PE of a column ends a tile in any cycle (tiles' last operands
      // are at least ROWS cycles apart), so an OR of the selected sums is a ROWS-to-1 mux.
      reg [31:0] bus_or;
      reg        bus_any;
      integer    i;
      always @* begin
        bus_or  = 32'd0;
        bus_any = 1'b0;
        for (i = 0; i < ROWS; i = i + 1) begin
          bus_or  = bus_or | (sel[i][c] ? mac[i][c] : 32'sd0);
          bus_any = bus_any | sel[i][c];
        end
      end
      assign bus[c]   = bus_or;
      assign bus_v[c] = bus_any;

      // Bottom edge: the bottom row's sums (ws) or the read-out bus (os), de-skewed.
      wire [31:0] col = mode ? bus[c] : mac[ROWS-1][c];
      systolic_delay #(
          .W(32),
          .D(COLS - 1 - c)
      ) deskew (
          .clk(clk),
          .rst(rst),
          .d  (col),
          .q  (out_data[32*c+:32])
      );
    end
  endgenerate

  // The last column needs no de-skew: its flags time the output row.
  assign out_valid = mode ? bus_v[COLS-1] : h_valid[ROWS-1][COLS-1];
  assign out_last  = mode ? sel[ROWS-1][COLS-1] : h_last[ROWS-1][COLS-1];
endmodule
