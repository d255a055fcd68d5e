// A W-bit delay line of D cycles (D = 0: a wire), cleared by reset: the array's skew stages.
module systolic_delay #(
    parameter W = 1,
    parameter D = 0
) (
    /* verilator lint_off UNUSEDSIGNAL */  // D = 0 uses neither
    input  wire         clk,
    input  wire         rst,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [W-1:0] d,
    output wire [W-1:0] q
);
  generate
    if (D == 0) begin : g_wire
      assign q = d;
    end else begin : g_regs
      reg [W-1:0] sr[0:D-1];
      integer i;
      always @(posedge clk) begin
        sr[0] <= rst ? {W{1'b0}} : d;
        for (i = 1; i < D; i = i + 1) sr[i] <= rst ? {W{1'b0}} : sr[i-1];
      end
      assign q = sr[D-1];
    end
  endgenerate
endmodule
