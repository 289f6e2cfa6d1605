#pragma once
// Mean and sample standard deviation (n - 1) of a few values, e.g. one metric over the
// training seeds of a network. NaN for both when `v` is empty; sd 0 for one value.
#include <utility>
#include <vector>

namespace dalnas {

std::pair<double, double> mean_sd(const std::vector<double>& v);

}  // namespace dalnas
