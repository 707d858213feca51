#pragma once
// How /metrics writes a sample value.
#include <string>

namespace antiphase::agent {

// The shortest text that reads back as exactly `v`: counters stay exact past 10^6
// ("16375801", not the stream default "1.63758e+07"), fractions keep every digit they
// have ("0.1", "0.3333333333333333"); NaN and infinities as Prometheus spells them.
std::string prometheus_number(double v);

}  // namespace antiphase::agent
