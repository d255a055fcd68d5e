// One group of the tensor core's tree: a 16-long dot product of s8/u8 bytes, three stages.
//
// Each operand is widened to 9 bits (sign- or zero-extended by its signedness), so each product is
// exact in 18 bits. Stage 1 registers the 16 products, stage 2 four sums of 4 (20 bits), stage 3
// the sum of those (22 bits: |sum| <= 16 * 255 * 255 < 2^20); `dot` is valid three edges after
// the operands.
module tensor_dot16 (
    input  wire               clk,
    input  wire               a_signed,
    input  wire               b_signed,
    input  wire [      127:0] a,         // element e in bits [8e+7:8e]
    input  wire [      127:0] b,
    output reg signed  [21:0] dot
);
  wire [16*18-1:0] prod;
  reg  [16*18-1:0] p1;
  wire [ 4*20-1:0] sum2;
  reg  [ 4*20-1:0] p2;

  genvar e, q;
  generate
    for (e = 0; e < 16; e = e + 1) begin : g_mul
      wire [7:0] x = a[8*e+:8];
      wire [7:0] y = b[8*e+:8];
      wire signed [8:0] xs = {a_signed & x[7], x};
      wire signed [8:0] ys = {b_signed & y[7], y};
      wire signed [17:0] p = xs * ys;
      assign prod[18*e+:18] = p;
    end
    for (q = 0; q < 4; q = q + 1) begin : g_sum
      wire [17:0] w = p1[18*(4*q)+:18], x = p1[18*(4*q+1)+:18];
      wire [17:0] y = p1[18*(4*q+2)+:18], z = p1[18*(4*q+3)+:18];
      assign sum2[20*q+:20] = {{2{w[17]}}, w} + {{2{x[17]}}, x} + {{2{y[17]}}, y} + {{2{z[17]}}, z};
    end
  endgenerate

  wire [19:0] s0 = p2[19:0], s1 = p2[39:20], s2 = p2[59:40], s3 = p2[79:60];
  always @(posedge clk) begin
    p1  <= prod;
    p2  <= sum2;
    dot <= {{2{s0[19]}}, s0} + {{2{s1[19]}}, s1} + {{2{s2[19]}}, s2} + {{2{s3[19]}}, s3};
  end
endmodule
