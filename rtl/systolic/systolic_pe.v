// One processing element of the systolic array: an int8 x int8 multiply, int32 accumulation.
//
// Operands arrive from the left with their flags (valid, first, last) and leave to the right one
// cycle later; the vertical register carries the partial sum (ws) or the B operand (os) down.
//   ws: the stationary weight is double-buffered. A weight-bus write (w_we) fills `shadow`; when
//       the first operand of a tile arrives (valid && first) the PE multiplies by `shadow` and
//       takes it as its `active` weight on that edge (nonblocking, so a write of the next tile's
//       weight on the same edge lands in `shadow`). mac = in_v + a * w.
//   os: in_v[7:0] is the B operand. The accumulator restarts on `first`; on `last` the finished
//       sum is on `mac` with `sel` high for that one cycle (the column's read-out bus takes it).
module systolic_pe (
    input wire clk,
    input wire rst,
    input wire mode,  // 0 = ws, 1 = os

    input  wire              in_valid,
    input  wire              in_first,
    input  wire              in_last,
    input  wire signed [7:0] in_a,
    output reg               out_valid,
    output reg               out_first,
    output reg               out_last,
    output reg signed  [7:0] out_a,

    input  wire signed [31:0] in_v,
    output reg signed  [31:0] out_v,

    input wire              w_we,
    input wire signed [7:0] w_data,

    output wire signed [31:0] mac,
    output wire               sel
);
  reg signed [7:0] shadow, active;
  reg signed [31:0] acc;

  wire              take = in_valid & in_first;
  wire signed [7:0] w_eff = take ? shadow : active;
  wire signed [7:0] b_os = in_v[7:0];
  wire signed [7:0] rhs = mode ? b_os : w_eff;
  wire signed [15:0] prod = in_a * rhs;
  wire signed [31:0] base = mode ? (in_first ? 32'sd0 : acc) : in_v;

  assign mac = base + {{16{prod[15]}}, prod};
  assign sel = mode & in_valid & in_last;

  always @(posedge clk) begin
    if (rst) begin
      out_valid <= 1'b0;
      out_first <= 1'b0;
      out_last  <= 1'b0;
    end else begin
      out_valid <= in_valid;
      out_first <= in_first;
      out_last  <= in_last;
    end
    out_a <= in_a;
    out_v <= mode ? in_v : mac;
    if (w_we) shadow <= w_data;
    if (~mode & take) active <= shadow;
    if (mode & in_valid) acc <= mac;
  end
endmodule
