#pragma once
// A tiny search configuration for the dist tests: 5 synthetic scenes of 64x64, 3-stage
// genomes of width 8 or 16, ga with 4 + 2 x 3 candidates of a fraction of a second each
// (the configuration of tests/cli/test_search.cpp).
namespace dalnas::test {

inline const char* kTinySearch = R"(
[search]
strategy = "ga"
seed = 3
input_size = 64
time_budget_s = 0

[strategy]
population = 4
generations = 3
newcomers = 1

[search_space]
widths = [8, 16]
decoder_widths = [8]
stages = {min = 3, max = 3}
block_types = ["ConvBnAct", "ConvAct", "MBConv", "ResNetBlock"]

[evaluation]
epochs = 2
low_epochs = 1
inherit_epochs = 1
final_epochs = 1

[train]
data = "synthetic"
synthetic = {scenes = 5, height = 64, width = 64}
tiling = {size = 32, stride = 32, background_keep = 1.0}
batch = 8
eval_tile = 64
eval_overlap = 0
)";

}  // namespace dalnas::test
