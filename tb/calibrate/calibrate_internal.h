#pragma once
// Internals of calibrate (tb/calibrate/*.cpp), shared between its files; not part of tb/calibrate.h.
#include <vector>

namespace nicsim::tb::calibrate_internal {

// tb/calibrate/measure.cpp
double median(std::vector<double> v);

}  // namespace nicsim::tb::calibrate_internal
