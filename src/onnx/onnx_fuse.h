#pragma once
// Recognises activations that ONNX exporters write as several nodes (opsets without a
// single op for them) and rewrites each into one node, before import_onnx maps the graph:
//
//   HardSwish  Mul(x, HardSigmoid(x; alpha = 1/6, beta = 0.5))    -> HardSwish(x)
//   Swish      Mul(x, Sigmoid(x)) (SiLU)                          -> Swish(x)
//   GELU       Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5), with Mul(x, 1/√2) in place of the
//              Div also accepted (torch.onnx's form below opset 20)  -> Gelu(x)
//
// Operands of the commutative ops may come in either order; constants are initializers or
// Constant nodes (float, float16 or double scalars, √2 within 1e-3 so FP16 models match).
// Every intermediate value must have exactly one consumer and not be a graph output;
// otherwise the nodes stay as they are.
#include <onnx/onnx_pb.h>

namespace dalnas {

// Returns the number of patterns rewritten.
int fuse_onnx_activations(onnx::ModelProto& model);

}  // namespace dalnas
