#!/usr/bin/env python3
"""Exports networks as PyTorch's own exporter (torch.onnx.export) writes them, the networks'
definitions taken from their packages, with ONNX test data whose outputs PyTorch computes:

    tests/models/torch_exports.py OUT_DIR [MODEL ...]

OUT_DIR/resnet50.onnx        torchvision's ResNet-50 (weights random: nothing is downloaded), on a
                             32x32 image (opset 14)
OUT_DIR/mobilenet_v2.onnx    torchvision's MobileNetV2 on a 32x32 image (opset 14)
OUT_DIR/vit.onnx             torchvision's VisionTransformer (ViT-B/16's class) at a small size:
                             64x64 image, 16x16 patches, 2 layers of 2 heads, width 64 (opset 14)
OUT_DIR/transformer_lm.onnx  a GPT-style language model of torch.nn's TransformerEncoder layers
                             (pre-norm, GELU, a causal mask from
                             nn.Transformer.generate_square_subsequent_mask), token ids as int64
                             input, learned positions, an LM head (opset 14)
OUT_DIR/wav2vec2.onnx        torchaudio's wav2vec 2.0 (wav2vec2_base's architecture: convolutional
                             feature extractor with group norm, convolutional position embedding,
                             post-norm transformer) at a small size: 2 layers of 2 heads, width 64,
                             on 2,000 samples of audio (opset 14)
OUT_DIR/<model>/test_data_set_0/input_0.pb, output_0.pb

The weights are random (seeded); the architecture, the exporter and the reference outputs are
PyTorch's. Needs Debian's python3-torch, python3-torchvision and python3-torchaudio, and
python3-onnx for the test data.
"""
import os
import sys

import numpy as np
import torch
import torchaudio
import torchvision
from onnx import numpy_helper


class TransformerLM(torch.nn.Module):
    """A decoder-only language model of torch.nn's transformer layers."""

    def __init__(self, vocab=512, width=64, heads=2, layers=2, ffn=256, max_len=64):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, width)
        self.pos = torch.nn.Parameter(torch.randn(1, max_len, width) * 0.02)
        layer = torch.nn.TransformerEncoderLayer(width, heads, ffn, dropout=0.0, batch_first=True,
                                                 activation="gelu", norm_first=True)
        self.layers = torch.nn.TransformerEncoder(layer, layers)
        self.norm = torch.nn.LayerNorm(width)
        self.head = torch.nn.Linear(width, vocab)

    def forward(self, ids):
        n = ids.shape[1]
        mask = torch.nn.Transformer.generate_square_subsequent_mask(n)
        x = self.embed(ids) + self.pos[:, :n]
        return self.head(self.norm(self.layers(x, mask=mask)))


def models():
    """name -> (module, example input)"""
    def image(side):
        return lambda: torch.rand(1, 3, side, side) * 2 - 1

    return {
        "resnet50": (torchvision.models.resnet50, image(32)),
        "mobilenet_v2": (torchvision.models.mobilenet_v2, image(32)),
        "vit": (lambda: torchvision.models.VisionTransformer(
            image_size=64, patch_size=16, num_layers=2, num_heads=2, hidden_dim=64, mlp_dim=128,
            num_classes=100), image(64)),
        "transformer_lm": (TransformerLM, lambda: torch.randint(0, 512, (1, 16))),
        "wav2vec2": (lambda: torchaudio.models.wav2vec2_model(
            extractor_mode="group_norm", extractor_conv_layer_config=None,
            extractor_conv_bias=False, encoder_embed_dim=64, encoder_projection_dropout=0.0,
            encoder_pos_conv_kernel=16, encoder_pos_conv_groups=4, encoder_num_layers=2,
            encoder_num_heads=2, encoder_attention_dropout=0.0, encoder_ff_interm_features=128,
            encoder_ff_interm_dropout=0.0, encoder_dropout=0.0, encoder_layer_norm_first=False,
            encoder_layer_drop=0.0, aux_num_out=32), lambda: torch.randn(1, 2000) * 0.1),
    }


def export(out_dir, name, make, example):
    module = make().eval()
    x = example()
    with torch.no_grad():
        y = module(x)
    if isinstance(y, tuple):  # wav2vec2: (logits, lengths)
        y = y[0]
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(module, x, path, opset_version=14, input_names=["input"],
                      output_names=["output"])
    data = os.path.join(out_dir, name, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    for kind, value in (("input", x), ("output", y)):
        with open(os.path.join(data, kind + "_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(value.numpy(), kind).SerializeToString())


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    table = models()
    names = sys.argv[2:] or list(table)
    for name in names:
        if name not in table:
            sys.exit(f"unknown model '{name}': one of {', '.join(table)}")
        torch.manual_seed(0)
        make, example = table[name]
        export(out_dir, name, make, example)
    print(f"{len(names)} models written to {out_dir}")


if __name__ == "__main__":
    main()
