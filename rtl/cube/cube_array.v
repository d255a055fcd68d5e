// The cube's dot-product array: one fractal step, an F x K0 fractal of A times a K0 x F fractal
// of B, as F x F lanes of K0-long s8 dot products, combinational.
//
// The operands come in the fractal layouts of L0A and L0B: A's fractal row by row (zZ: byte
// i K0 + k is A(i, k)), B's fractal column by column (zN: byte j K0 + k is B(k, j)), so lane
// (i, j) takes A's row i and B's column j as two contiguous K0-byte slices. The result is an
// F x F fractal row by row (word i F + j: lane (i, j)), L0C's layout.
//
// Each product is exact (s8 x s8 fits 16 bits) and a lane's sum fits 32 bits for any K0 below
// 2^17, so a lane never wraps; the wrapping is the accumulator's. A chip would pipeline the
// adder tree; here its stages are the unit's delay line (cube_unit.v). The lanes are a loop,
// not instances, so that the verilated model stays small at F = 16.
module cube_array #(
    parameter F  = 16,  // fractal rows and columns
    parameter K0 = 32   // fractal depth
) (
    input  wire [8*F*K0-1:0] a,
    input  wire [8*F*K0-1:0] b,
    output reg  [32*F*F-1:0] dot
);
  integer l, k;
  reg signed [31:0] sum;
  always @* begin
    dot = {32 * F * F{1'b0}};
    for (l = 0; l < F * F; l = l + 1) begin
      sum = 32'sd0;
      for (k = 0; k < K0; k = k + 1)
        sum = sum + $signed(a[8*(K0*(l/F)+k)+:8]) * $signed(b[8*(K0*(l%F)+k)+:8]);
      dot[32*l+:32] = sum;
    end
  end
endmodule
