#pragma once
// Conversion of pynas architecture codes (github.com/sirbastiano/pynas) to Genome.
//
// A pynas code is a list of segments separated by 'E' and ends with an extra 'E', e.g.
//
//   Lco16k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE
//
// Layer segments: 'L' + type letter (b ConvAct, c ConvBnAct, e ConvSE, d DenseNetBlock,
// m MBConv, n MBConvNoRes, R ResNetBlock; D Dropout is ignored) + parameters written as
// letter + value, in any order: o<out_channels_coefficient> k<kernel> s<stride>
// p<padding> a<activation: r ReLU, g GELU> e<expansion> r<reduction> n<num_blocks = 1>.
// Pooling segments: PM2 (max) or Pa2 (avg). pynas pools after every layer; the pool after
// the last layer feeds nothing in the U-Net and is dropped.
//
// Widths follow pynas: ConvAct/ConvBnAct/ConvSE out = in * coefficient; MBConv,
// MBConvNoRes and ResNetBlock keep the width; DenseNetBlock out = in + in * coefficient
// (the first layer's `in` is the number of input bands). MBConv's depthwise kernel and
// ResNetBlock's and DenseNetBlock's kernels are 3 (pynas defaults); ResNetBlock's
// reduction factor is unused by pynas and ignored here.
//
// Approximation: pynas decoder convolutions at each level keep that level's skip width;
// a Genome has one decoder width, so the first skip's width (blocks[0].width, the width of
// pynas's last decoder level) is used.
//
// Rejected with a dalnas::Error naming the segment: stride != 1, padding other than
// 'same' (k/2), kernels other than 3 or 5, expansion outside 3..6, activations other than
// r or g, unknown segment or parameter codes, widths outside 1..1024, and layer counts
// outside 3..5.
#include <string>

#include "core/genome.h"

namespace dalnas {

Genome genome_from_pynas(const std::string& code, int in_bands);

}  // namespace dalnas
